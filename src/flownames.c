#include "flownames.h"

#include <string.h>
#include <bpf/bpf.h>
#include "dpi.h"

void flownames_fill(struct flow_record *r, const struct xdpi_flow_name *n)
{
	size_t len = n->len < XDPI_NAME_MAX ? n->len : XDPI_NAME_MAX;
	char *dst;

	/* A name from the parsers or a verdict saw more than one packet. */
	if (r->sni[0] || r->host[0])
		return;
	if (n->kind == XDPI_NAME_SNI)
		dst = r->sni;
	else if (n->kind == XDPI_NAME_HOST)
		dst = r->host;
	else
		return;
	/* Cut at a NUL, as the TLS parser cuts the SNI. */
	len = strnlen(n->name, len);
	if (!len)
		return;
	memcpy(dst, n->name, len);
	dst[len] = 0;
	if (!r->app_proto)
		r->app_proto = n->kind == XDPI_NAME_SNI ? APP_TLS : APP_HTTP;
}

int flownames_get(const struct flownames *s, const struct xdpi_flow_key *k,
		  struct xdpi_flow_name *out)
{
	const struct xdpi_flow_name *n;

	if (s->map_fd >= 0)
		return bpf_map_lookup_elem(s->map_fd, k, out) ? -1 : 0;
	n = s->tab ? flowtab_lookup(s->tab, k) : NULL;
	if (!n)
		return -1;
	*out = *n;
	return 0;
}

void flownames_forget(const struct flownames *s, const struct xdpi_flow_key *k)
{
	if (s->map_fd >= 0)
		bpf_map_delete_elem(s->map_fd, k);
	else if (s->tab)
		flowtab_remove(s->tab, k, NULL);
}

void flownames_packet(struct flowtab *tab, struct xdpi_name_walk *w,
		      const struct xdpi_flow_key *k, const struct xdpi_flow_val *v,
		      const struct xdpi_pkt *p, uint8_t dir, const uint8_t *frame,
		      uint64_t *counters)
{
	const uint8_t *pl = frame + p->payload_off;
	uint32_t len = p->payload_len;
	struct xdpi_flow_name *n;
	int kind, created;

	if (!tab || !xdpi_name_wanted(v, p, dir))
		return;
	memcpy(w->buf.b, pl, 8);
	if (!xdpi_name_guess(&w->buf) || flowtab_lookup(tab, k))
		return;
	if (len > XDPI_NAME_SCAN)
		len = XDPI_NAME_SCAN;
	memcpy(w->buf.b, pl, len);
	counters[XDPI_C_NAMES_SCANNED]++;
	kind = xdpi_name_find(w, len);
	if (!kind || !w->nlen)
		return;
	n = flowtab_upsert(tab, k, &created);
	if (!n)
		return; /* table full: the kernel's LRU would evict instead */
	memset(n, 0, sizeof(*n));
	n->kind = (uint8_t)kind;
	n->len = (uint8_t)w->nlen;
	memcpy(n->name, pl + w->off, w->nlen);
	counters[XDPI_C_NAMES_EXTRACTED]++;
}

void flownames_annotate_cb(const struct xdpi_flow_key *k, struct flow_record *r, void *arg)
{
	struct flownames_annot *a = arg;
	struct xdpi_flow_name n;

	if (a->dpi)
		dpi_annotate(a->dpi, k, r);
	if (!flownames_get(&a->names, k, &n))
		flownames_fill(r, &n);
}

void flownames_export_cb(const struct xdpi_flow_key *k, void *arg)
{
	struct flownames_annot *a = arg;

	if (a->dpi)
		dpi_flow_end(a->dpi, k);
	flownames_forget(&a->names, k);
}
