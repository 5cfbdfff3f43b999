#include "ingest.h"

#include "xdpi/abi.h"

int ingest_event(struct ingest *in, const void *data, size_t len)
{
	const struct xdpi_event *e = data;

	if (len < sizeof(*e)) {
		in->st.malformed++;
		return 0;
	}
	switch (e->type) {
	case XDPI_EV_FLOW_START:
		in->st.flow_start++;
		break;
	case XDPI_EV_FLOW_END:
		in->st.flow_end++;
		break;
	case XDPI_EV_SNIPPET:
		if (e->len == 0 || e->len > in->snippet_max ||
		    len < sizeof(*e) + e->len) {
			in->st.malformed++;
			break;
		}
		in->st.snippets++;
		in->st.snippet_bytes += e->len;
		break;
	default:
		in->st.malformed++;
		break;
	}
	return 0;
}

int ingest_ringbuf_cb(void *ctx, void *data, size_t len)
{
	return ingest_event(ctx, data, len);
}
