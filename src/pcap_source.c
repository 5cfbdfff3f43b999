#include "pcap_source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <pcap/pcap.h>
#include "filter.h"

#define FRAME_MAX (256 * 1024 + 64)

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif

struct pcap_source {
	pcap_t *p;          /* libpcap reader (pcapng), or NULL in mmap mode */
	int dlt;
	uint64_t frames;
	uint64_t skipped;
	uint64_t filtered;  /* frames --filter did not match */
	const struct filter *filter;
	int filter_unseen;  /* filter only frames the kernel program never sees */
	uint8_t *buf;       /* frame with a synthetic Ethernet header */
	/* Classic pcap files are mapped and walked in place: no copy per frame,
	 * and frames stay valid until close (see struct frame.stable). */
	const uint8_t *map;
	size_t map_len;
	size_t pos;
	int swapped;        /* file written with the other byte order */
	int nsec;           /* nanosecond timestamps */
	uint32_t snaplen;
};

static uint32_t rd32(const struct pcap_source *s, const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return s->swapped ? __builtin_bswap32(v) : v;
}

/* Maps a classic pcap file; 0 if it is one, -1 to fall back to libpcap. */
static int map_classic(struct pcap_source *s, int fd, size_t len)
{
	const uint8_t *m;
	uint32_t magic;

	if (len < 24)
		return -1;
	m = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (m == MAP_FAILED)
		return -1;
	memcpy(&magic, m, 4);
	switch (magic) {
	case 0xa1b2c3d4: break;
	case 0xd4c3b2a1: s->swapped = 1; break;
	case 0xa1b23c4d: s->nsec = 1; break;
	case 0x4d3cb2a1: s->swapped = 1; s->nsec = 1; break;
	default:
		munmap((void *)m, len);
		return -1;
	}
	madvise((void *)m, len, MADV_SEQUENTIAL);
	s->map = m;
	s->map_len = len;
	s->pos = 24;
	s->snaplen = rd32(s, m + 16);
	s->dlt = (int)(rd32(s, m + 20) & 0x03ffffff); /* low bits: link type */
	return 0;
}

static int supported(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB: case DLT_NULL: case DLT_LOOP: case DLT_RAW:
	case DLT_IPV4: case DLT_IPV6: case DLT_LINUX_SLL: case DLT_LINUX_SLL2:
	case DLT_PPP: case DLT_PPP_SERIAL: case DLT_C_HDLC:
		return 1;
	}
#ifdef DLT_RAW_ALT
#endif
	return dlt == 12 || dlt == 14; /* LINKTYPE_RAW aliases on some systems */
}

struct pcap_source *pcap_source_open(const char *path, char *err, size_t errlen)
{
	char perr[PCAP_ERRBUF_SIZE] = "";
	struct pcap_source *s;
	struct stat st;
	FILE *fp;

	if (stat(path, &st)) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is a directory, not a capture file", path);
		return NULL;
	}
	fp = fopen(path, "rb");
	if (!fp) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		fclose(fp);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (map_classic(s, fileno(fp), (size_t)st.st_size) == 0) {
		fclose(fp);
	} else {
		s->p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, perr);
		if (!s->p) {
			snprintf(err, errlen, "%s is not a readable pcap/pcapng file: %s", path, perr);
			free(s);
			return NULL;
		}
		s->dlt = pcap_datalink(s->p);
	}
	if (!supported(s->dlt)) {
		const char *n = pcap_datalink_val_to_name(s->dlt);

		snprintf(err, errlen, "%s: link type %s (%d) is not supported", path, n ? n : "?",
			 s->dlt);
		pcap_source_close(s);
		return NULL;
	}
	s->buf = malloc(FRAME_MAX);
	if (!s->buf) {
		pcap_source_close(s);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return s;
}

/* Builds Ethernet (zero MACs, given type) + the L3 bytes into s->buf. */
static int synth(struct pcap_source *s, struct frame *f, const uint8_t *l3,
		 uint32_t len, uint16_t ethertype)
{
	if (len + 14 > FRAME_MAX)
		len = FRAME_MAX - 14;
	memset(s->buf, 0, 12);
	s->buf[12] = (uint8_t)(ethertype >> 8);
	s->buf[13] = (uint8_t)ethertype;
	memcpy(s->buf + 14, l3, len);
	f->data = s->buf;
	f->caplen = len + 14;
	f->stable = 0;
	return 1;
}

static uint16_t by_version(const uint8_t *l3, uint32_t len)
{
	if (len < 1)
		return 0;
	return (l3[0] >> 4) == 6 ? 0x86DD : (l3[0] >> 4) == 4 ? 0x0800 : 0;
}

static uint16_t ppp_to_ether(uint16_t ppp)
{
	return ppp == 0x0021 ? 0x0800 : ppp == 0x0057 ? 0x86DD : 0;
}

/* Turns one captured frame into an Ethernet frame. 0 if it cannot be. */
static int normalize(struct pcap_source *s, const uint8_t *d, uint32_t len,
		     struct frame *f)
{
	uint32_t fam;
	uint16_t et;

	switch (s->dlt) {
	case DLT_EN10MB:
		f->data = d;
		f->caplen = len;
		f->stable = s->map != NULL;
		return 1;
	case DLT_NULL:
	case DLT_LOOP:
		if (len < 4)
			return 0;
		if (s->dlt == DLT_LOOP)
			fam = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | d[2] << 8 | d[3];
		else
			memcpy(&fam, d, 4);
		/* BSD address families: the file's writer may be of either byte order. */
		if (fam > 0xffff)
			fam = __builtin_bswap32(fam);
		et = fam == 2 ? 0x0800 : (fam == 24 || fam == 28 || fam == 30 || fam == 10) ? 0x86DD : 0;
		if (!et)
			return 0;
		return synth(s, f, d + 4, len - 4, et);
	case DLT_LINUX_SLL:
		if (len < 16)
			return 0;
		return synth(s, f, d + 16, len - 16, (uint16_t)(d[14] << 8 | d[15]));
	case DLT_LINUX_SLL2:
		if (len < 20)
			return 0;
		return synth(s, f, d + 20, len - 20, (uint16_t)(d[0] << 8 | d[1]));
	case DLT_PPP:
	case DLT_PPP_SERIAL:
	case DLT_C_HDLC: {
		uint32_t off = 0;
		uint16_t proto;

		if (len >= 2 && (d[0] == 0xff || d[0] == 0x0f || d[0] == 0x8f))
			off = 2; /* address/control (PPP in HDLC framing, or Cisco HDLC) */
		if (len < off + 1)
			return 0;
		if (d[off] & 1) { /* compressed one-byte protocol field */
			proto = d[off];
			off += 1;
		} else {
			if (len < off + 2)
				return 0;
			proto = (uint16_t)(d[off] << 8 | d[off + 1]);
			off += 2;
		}
		et = s->dlt == DLT_C_HDLC ? proto : ppp_to_ether(proto);
		if (et != 0x0800 && et != 0x86DD)
			return 0;
		return synth(s, f, d + off, len - off, et);
	}
	default: /* raw IP */
		et = by_version(d, len);
		if (!et)
			return 0;
		return synth(s, f, d, len, et);
	}
}

/* Whether --filter lets the frame through, matched on the bytes as
 * captured, in the capture's own link type. */
static int passes(struct pcap_source *s, const uint8_t *d, uint32_t caplen, uint32_t cut)
{
	if (filter_match(s->filter, d, caplen, caplen + cut))
		return 1;
	s->filtered++;
	return 0;
}

/* A captured frame (f->cut set) into f; 0 when it is filtered out or
 * skipped (its link layer carries no IP), each counted. With
 * filter_unseen, only frames the kernel program will not see are matched
 * here: those that cannot become Ethernet or are shorter than its header. */
static int take(struct pcap_source *s, const uint8_t *d, uint32_t caplen, struct frame *f)
{
	int ok;

	if (s->filter && !s->filter_unseen && !passes(s, d, caplen, f->cut))
		return 0;
	ok = normalize(s, d, caplen, f);
	if (s->filter && s->filter_unseen && (!ok || f->caplen < 14) &&
	    !passes(s, d, caplen, f->cut))
		return 0;
	if (!ok)
		s->skipped++;
	return ok;
}

/* The next record of a mapped classic pcap file. */
static int next_mapped(struct pcap_source *s, struct frame *f, char *err, size_t errlen)
{
	for (;;) {
		const uint8_t *h = s->map + s->pos;
		uint32_t caplen, len, sub;

		if (s->pos == s->map_len)
			return 0;
		if (s->map_len - s->pos < 16) {
			snprintf(err, errlen, "capture file is corrupt after %llu frames: "
				 "truncated record header", (unsigned long long)s->frames);
			return -1;
		}
		caplen = rd32(s, h + 8);
		len = rd32(s, h + 12);
		if (caplen > s->map_len - s->pos - 16 || caplen > 0x40000) {
			snprintf(err, errlen, "capture file is corrupt after %llu frames: "
				 "record of %u bytes %s", (unsigned long long)s->frames, caplen,
				 caplen > 0x40000 ? "is larger than any frame" : "runs past the end");
			return -1;
		}
		s->pos += 16 + (size_t)caplen;
		s->frames++;
		sub = rd32(s, h + 4);
		f->ts_ns = (uint64_t)rd32(s, h) * 1000000000ULL +
			   (uint64_t)sub * (s->nsec ? 1 : 1000);
		f->cut = len > caplen ? len - caplen : 0;
		if (take(s, h + 16, caplen, f))
			return 1;
	}
}

int pcap_source_next(struct pcap_source *s, struct frame *f, char *err, size_t errlen)
{
	struct pcap_pkthdr *h;
	const uint8_t *d;

	if (s->map)
		return next_mapped(s, f, err, errlen);
	for (;;) {
		int rc = pcap_next_ex(s->p, &h, &d);

		if (rc == PCAP_ERROR_BREAK)
			return 0;
		if (rc != 1) {
			snprintf(err, errlen, "capture file is corrupt after %llu frames: %s",
				 (unsigned long long)s->frames, pcap_geterr(s->p));
			return -1;
		}
		s->frames++;
		f->cut = h->len > h->caplen ? h->len - h->caplen : 0;
		f->ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ULL + (uint64_t)h->ts.tv_usec;
		if (take(s, d, h->caplen, f))
			return 1;
	}
}

uint64_t pcap_source_skipped(const struct pcap_source *s) { return s->skipped; }
uint64_t pcap_source_filtered(const struct pcap_source *s) { return s->filtered; }

void pcap_source_set_filter(struct pcap_source *s, const struct filter *f, int unseen_only)
{
	s->filter = f;
	s->filter_unseen = unseen_only;
}
uint64_t pcap_source_frames(const struct pcap_source *s) { return s->frames; }

const char *pcap_source_linktype(const struct pcap_source *s)
{
	const char *n = pcap_datalink_val_to_name(s->dlt);

	return n ? n : "?";
}

void pcap_source_close(struct pcap_source *s)
{
	if (!s)
		return;
	if (s->p)
		pcap_close(s->p);
	if (s->map)
		munmap((void *)s->map, s->map_len);
	free(s->buf);
	free(s);
}
