#include "metrics.h"

#include <stdio.h>
#include <string.h>
#include "engine.h"
#include "flowtrack.h"
#include "ingest.h"
#include "output.h"
#include "sink/sink.h"
#include "stats.h"

#define METRICS_MAX 256

static struct metric *add(struct metric *m, size_t *n, const char *name, const char *help,
			  int counter, double v)
{
	struct metric *x;

	if (*n >= METRICS_MAX)
		return NULL;
	x = &m[(*n)++];
	*x = (struct metric){ .name = name, .help = help, .value = v, .counter = (uint8_t)counter };
	return x;
}

static void add_counters(struct metric *m, size_t *n, const uint64_t *c)
{
	for (int i = 0; i < XDPI_C__MAX; i++) {
		struct metric *x = add(m, n, "xdpi_packet_path_total",
				       "Counters of the packet path (kernel programs or the offline "
				       "parser), by name; see docs/metrics.md", 1, (double)c[i]);

		if (x)
			snprintf(x->labels, sizeof(x->labels), "counter=\"%s\"",
				 counter_name((enum xdpi_counter)i));
	}
	add(m, n, "xdpi_packets_total", "Packets the capture saw", 1, (double)c[XDPI_C_PACKETS]);
	add(m, n, "xdpi_ring_events_lost_total",
	    "Events the kernel could not write: the event buffer was full", 1,
	    (double)c[XDPI_C_EV_LOST]);
	add(m, n, "xdpi_flows_shed_total",
	    "Flows begun with the event buffer over 3/4 full: no snippets", 1,
	    (double)c[XDPI_C_FLOWS_SHED]);
}

static void add_engine(struct metric *m, size_t *n, const struct engine_stats *es)
{
	add(m, n, "xdpi_events_delivered_total", "Events handed to a worker", 1,
	    (double)es->delivered);
	add(m, n, "xdpi_worker_ring_drops_total", "Events dropped: a worker's ring was full", 1,
	    (double)es->ring_full);
	add(m, n, "xdpi_perf_lost_total", "Records the perf buffers reported lost", 1,
	    (double)es->perf_lost);
	add(m, n, "xdpi_dpi_flows", "Flows with inspection state in the workers now", 0,
	    (double)es->flows_active);
	add(m, n, "xdpi_snippet_sampling", "Snippets are taken from 1 in this many new flows", 0,
	    (double)es->sampling);
	add(m, n, "xdpi_verdicts_total", "Flows handed back to the kernel once classified", 1,
	    (double)es->verdicts);
	add(m, n, "xdpi_sink_waits_total", "Times a worker waited for the record queue", 1,
	    (double)es->sink_waits);
}

void metrics_publish(struct output *o, const struct metrics_src *s)
{
	static struct metric m[METRICS_MAX];
	static const char *const reasons[5] = { "idle", "active", "fin", "rst", "end" };
	size_t n = 0;

	if (!output_has(o, "prom"))
		return;
	if (s->counters)
		add_counters(m, &n, s->counters);
	if (s->in) {
		add(m, &n, "xdpi_snippets_total", "Payload snippets taken in", 1,
		    (double)s->in->snippets);
		add(m, &n, "xdpi_malformed_events_total", "Events too short or of an unknown type",
		    1, (double)s->in->malformed);
	}
	if (s->ft) {
		for (int i = 0; i < 5; i++) {
			struct metric *x = add(m, &n, "xdpi_flow_records_written_total",
					       "Flow records written, by end reason", 1,
					       (double)s->ft->records[i]);

			if (x)
				snprintf(x->labels, sizeof(x->labels), "reason=\"%s\"", reasons[i]);
		}
		add(m, &n, "xdpi_flows_evicted_total",
		    "Flows that vanished from the table before their record", 1,
		    (double)s->ft->evicted);
	}
	add(m, &n, "xdpi_flow_table_flows", "Flows tracked now", 0, (double)s->flows_open);
	add(m, &n, "xdpi_flow_table_capacity", "Flows the table holds at most (--max-flows)", 0,
	    (double)s->flows_max);
	add(m, &n, "xdpi_records_produced_total",
	    "Records produced, all types (before any output queue)", 1, (double)s->records);
	if (s->es)
		add_engine(m, &n, s->es);
	if (s->sock) {
		add(m, &n, "xdpi_socket_packets_total",
		    "Packets the socket filter passed to the AF_PACKET ring (drops included)", 1,
		    (double)s->sock->packets);
		add(m, &n, "xdpi_socket_drops_total", "Packets lost: the AF_PACKET ring was full", 1,
		    (double)s->sock->drops);
		add(m, &n, "xdpi_socket_freezes_total", "Times every block of the ring was full", 1,
		    (double)s->sock->freezes);
	}
	if (s->eng)
		n += engine_metrics(s->eng, m + n, METRICS_MAX - n);
	output_publish_metrics(o, m, n);
}
