/* `xdpi collect`: a durable pull consumer on the JetStream stream the
 * producers publish to. Each fetched batch is written to the store in one
 * write() and acknowledged only after it returned 0: a collector that dies
 * in between has the batch delivered again, and the store's unique key on
 * (host, run, seq) takes the repeat without a duplicate. At-least-once
 * delivery plus an idempotent insert: each record once in the database. */
#include "collect.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include "signals.h"
#include "sink/nats.h"
#include "sink/sink.h"
#include "sink/runner.h"
#include "util.h"

/* Weak until every sink is in the tree: a missing one is reported. */
extern const struct sink_ops sink_sqlite_ops __attribute__((weak));
extern const struct sink_ops sink_postgres_ops __attribute__((weak));

#define DEFAULT_DURABLE "xdpi-collect"
#define DEFAULT_BATCH 500
#define MAX_BATCH 10000
/* Messages a consumer lets out unacknowledged: room for this many
 * collectors with a batch each in hand. */
#define ACK_PENDING_BATCHES 16
#define FETCH_WAIT_MS 1000
#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 30000

static const char collect_help[] =
	"usage: xdpi collect --from nats://HOST:PORT[,HOST:PORT...] --out STORE [options]\n"
	"\n"
	"Take the records that `xdpi run/read --out nats://...` published to NATS\n"
	"JetStream into a database. Collectors with the same --durable name share\n"
	"the records (a queue group of pull consumers): start several for more\n"
	"throughput or to survive the loss of one. A batch is acknowledged only once\n"
	"the database holds it; one delivered again is inserted once (the records'\n"
	"(host, run, seq) key), so each record is in the database exactly once.\n"
	"\n"
	"  --from URI           NATS servers, one or more nodes of the cluster\n"
	"  --out STORE          sqlite:FILE, or postgres:CONNINFO ('host=H dbname=D\n"
	"                       user=U' or postgresql://...)\n"
	"  --durable NAME       durable consumer (default " DEFAULT_DURABLE ")\n"
	"  --stream NAME        JetStream stream (default " NATS_STREAM_DEFAULT "; made, with\n"
	"                       subjects " NATS_SUBJECTS ", when missing)\n"
	"  --batch N            records per fetch and per database write (default 500)\n"
	"  --ack-wait T         deliver again what was not acknowledged after T\n"
	"                       (default 30s; applies when the consumer is created)\n"
	"  --idle-exit T        exit once nothing came for T and the consumer has\n"
	"                       nothing left to deliver or unacknowledged (default:\n"
	"                       run until stopped); counted from the first subscription\n"
	"  -q, --quiet          no summary on stderr at exit\n"
	"Times take a unit: 500ms, 15s, 2m (plain numbers are seconds).\n"
	"SIGINT or SIGTERM stop it after the batch in hand.\n";

struct collect_opts {
	const char *from;
	const char *out;
	const char *durable;
	const char *stream;
	int batch;
	uint64_t ack_wait_ns;
	uint64_t idle_exit_ns;
	int quiet;
};

struct collect_stats {
	uint64_t stored, batches, redelivered, store_failures, rejected, no_ids;
};

struct collector {
	struct collect_opts o;
	struct nats_servers servers;
	natsOptions *nopts;
	natsConnection *nc;
	jsCtx *js;
	natsSubscription *sub;
	const struct sink_ops *store_ops;
	void *store;
	int store_up;
	struct sink_env env;
	char host[256];
	struct sink_item *items;
	natsMsg **held;           /* the message of each item */
	struct collect_stats st;
	uint64_t last_msg_ns;     /* when messages last came (or the start) */
	uint64_t store_backoff;   /* ms, doubles while the store fails */
	int subscribed_once;
};

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (!stop_requested && nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Set once the collector closes its connection on purpose. */
static volatile int closing;

static void on_disconnected(natsConnection *nc, void *closure)
{
	(void)nc;
	(void)closure;
	if (!closing)
		fprintf(stderr, "xdpi collect: nats: disconnected; reconnecting\n");
}

/* The store and the servers as messages show them: no passwords. */
static char out_shown[512], from_shown[512];

static void on_reconnected(natsConnection *nc, void *closure)
{
	char url[256] = "", shown[256];

	(void)closure;
	natsConnection_GetConnectedUrl(nc, url, sizeof(url));
	runner_redact_uri(shown, sizeof(shown), url);
	fprintf(stderr, "xdpi collect: nats: reconnected to %s\n", shown);
}

/* The store's ops and target from --out, as `--out` of run/read takes them. */
static const struct sink_ops *find_store(const char *uri, const char **target,
					 char *err, size_t errlen)
{
	const struct sink_ops *ops = runner_find_sink(uri, target);

	if (ops != &sink_sqlite_ops && ops != &sink_postgres_ops) {
		snprintf(err, errlen, "--out '%s': not a store; expected sqlite:FILE or "
			 "postgres:CONNINFO", uri);
		return NULL;
	}
	return ops;
}

static int parse_args(int argc, char **argv, struct collect_opts *o)
{
	enum { O_FROM = 256, O_OUT, O_DURABLE, O_STREAM, O_BATCH, O_ACKWAIT, O_IDLE };
	static const struct option longopts[] = {
		{ "from", required_argument, NULL, O_FROM },
		{ "out", required_argument, NULL, O_OUT },
		{ "durable", required_argument, NULL, O_DURABLE },
		{ "stream", required_argument, NULL, O_STREAM },
		{ "batch", required_argument, NULL, O_BATCH },
		{ "ack-wait", required_argument, NULL, O_ACKWAIT },
		{ "idle-exit", required_argument, NULL, O_IDLE },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct collect_opts){
		.durable = DEFAULT_DURABLE, .stream = NATS_STREAM_DEFAULT,
		.batch = DEFAULT_BATCH, .ack_wait_ns = 30 * NSEC_PER_SEC,
	};
	optind = 1;
	while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		char *end;
		long v;

		switch (c) {
		case O_FROM: o->from = optarg; break;
		case O_OUT: o->out = optarg; break;
		case O_DURABLE: o->durable = optarg; break;
		case O_STREAM: o->stream = optarg; break;
		case O_BATCH:
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || v < 1 || v > MAX_BATCH) {
				fprintf(stderr, "xdpi collect: --batch '%s': expected a number "
					"from 1 to %d\n", optarg, MAX_BATCH);
				return 2;
			}
			o->batch = (int)v;
			break;
		case O_ACKWAIT:
			if (parse_duration_ns(optarg, &o->ack_wait_ns) ||
			    o->ack_wait_ns < NSEC_PER_SEC) {
				fprintf(stderr, "xdpi collect: --ack-wait '%s': expected a time of "
					"at least 1s (30s, 2m)\n", optarg);
				return 2;
			}
			break;
		case O_IDLE:
			if (parse_duration_ns(optarg, &o->idle_exit_ns) || !o->idle_exit_ns) {
				fprintf(stderr, "xdpi collect: --idle-exit '%s': expected a time "
					"over 0 (500ms, 5s, 2m)\n", optarg);
				return 2;
			}
			break;
		case 'q': o->quiet = 1; break;
		case 'h': fputs(collect_help, stdout); return -1;
		default:
			fprintf(stderr, "see xdpi collect --help\n");
			return 2;
		}
	}
	/* The command's own name may come first (the whole argv). */
	if (optind < argc && !strcmp(argv[optind], "collect"))
		optind++;
	if (optind < argc) {
		fprintf(stderr, "xdpi collect: unexpected argument '%s'; see xdpi collect "
			"--help\n", argv[optind]);
		return 2;
	}
	if (!o->from || !o->out) {
		fprintf(stderr, "xdpi collect: --from nats://HOST:PORT[,...] and --out "
			"sqlite:FILE|postgres:CONNINFO are required; see xdpi collect --help\n");
		return 2;
	}
	if (!*o->durable || strpbrk(o->durable, ".*> \t")) {
		fprintf(stderr, "xdpi collect: --durable '%s': a name without '.', '*', '>' "
			"or spaces\n", o->durable);
		return 2;
	}
	if (!*o->stream || strpbrk(o->stream, ".*> \t")) {
		fprintf(stderr, "xdpi collect: --stream '%s': a name without '.', '*', '>' "
			"or spaces\n", o->stream);
		return 2;
	}
	return 0;
}

/* ---- NATS side ---- */

static void drop_subscription(struct collector *c)
{
	/* Destroy only: unsubscribing could delete the shared consumer. */
	natsSubscription_Destroy(c->sub);
	c->sub = NULL;
}

/* Looks the durable consumer up and makes it when missing, then binds a
 * pull subscription to it; binding (rather than letting the subscription
 * make it) keeps it when a collector exits and lets collectors with other
 * --batch values share it. */
static int subscribe(struct collector *c, char *err, size_t errlen)
{
	jsConsumerInfo *ci = NULL;
	jsSubOptions so;
	jsErrCode jerr = 0;
	natsStatus st;

	if (nats_ensure_stream(c->js, c->o.stream, c->servers.n, err, errlen))
		return -1;
	st = js_GetConsumerInfo(&ci, c->js, c->o.stream, c->o.durable, NULL, &jerr);
	if (st == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr) {
		jsConsumerConfig cc;

		jsConsumerConfig_Init(&cc);
		cc.Durable = c->o.durable;
		cc.Description = "xdpi collect";
		cc.DeliverPolicy = js_DeliverAll;
		cc.AckPolicy = js_AckExplicit;
		cc.AckWait = (int64_t)c->o.ack_wait_ns;
		cc.ReplayPolicy = js_ReplayInstant;
		cc.FilterSubject = NATS_SUBJECTS;
		cc.MaxAckPending = (int64_t)c->o.batch * ACK_PENDING_BATCHES;
		jerr = 0;
		st = js_AddConsumer(&ci, c->js, c->o.stream, &cc, NULL, &jerr);
		/* Another collector may have made it meanwhile. */
		if (st != NATS_OK && (jerr == JSConsumerNameExistErr ||
				      jerr == JSConsumerExistingActiveErr))
			st = NATS_OK;
	}
	jsConsumerInfo_Destroy(ci);
	if (st != NATS_OK) {
		char what[160];

		snprintf(what, sizeof(what), "nats: consumer %s of stream %s", c->o.durable,
			 c->o.stream);
		nats_err(err, errlen, what, st);
		return -1;
	}
	jsSubOptions_Init(&so);
	so.Stream = c->o.stream;
	so.Consumer = c->o.durable;
	st = js_PullSubscribe(&c->sub, c->js, NULL, c->o.durable, NULL, &so, &jerr);
	if (st != NATS_OK) {
		c->sub = NULL;
		nats_err(err, errlen, "nats: pull subscription", st);
		return -1;
	}
	return 0;
}

static int nats_setup(struct collector *c, char *err, size_t errlen)
{
	natsStatus st;

	if (!c->nc) {
		st = natsConnection_Connect(&c->nc, c->nopts);
		if (st != NATS_OK) {
			char what[600];

			c->nc = NULL;
			snprintf(what, sizeof(what), "nats: connecting to %s", from_shown);
			nats_err(err, errlen, what, st);
			return -1;
		}
	}
	if (!c->js) {
		st = natsConnection_JetStream(&c->js, c->nc, NULL);
		if (st != NATS_OK) {
			c->js = NULL;
			nats_err(err, errlen, "nats: JetStream context", st);
			return -1;
		}
	}
	if (!c->sub && subscribe(c, err, errlen))
		return -1;
	return 0;
}

/* With --idle-exit: the consumer has nothing to deliver and nothing out
 * unacknowledged (by any collector sharing it). */
static int consumer_drained(struct collector *c)
{
	jsConsumerInfo *ci = NULL;
	int drained;

	if (js_GetConsumerInfo(&ci, c->js, c->o.stream, c->o.durable, NULL, NULL) != NATS_OK)
		return -1;
	drained = ci->NumPending == 0 && ci->NumAckPending == 0;
	jsConsumerInfo_Destroy(ci);
	return drained;
}

/* ---- store side ---- */

static int store_connect(struct collector *c, char *err, size_t errlen)
{
	if (c->store_up)
		return 0;
	if (c->store_ops->connect && c->store_ops->connect(c->store, err, errlen))
		return -1;
	c->store_up = 1;
	return 0;
}

/* ---- messages to items ---- */

static int header_u64(natsMsg *m, const char *key, uint64_t *out)
{
	const char *v = NULL;
	char *end;

	if (natsMsgHeader_Get(m, key, &v) != NATS_OK || !v || !*v)
		return -1;
	errno = 0;
	*out = strtoull(v, &end, 10);
	return errno || *end ? -1 : 0;
}

/* The type from the subject's last token, else from the JSON's "type". */
static enum record_type message_type(natsMsg *m)
{
	const char *subj = natsMsg_GetSubject(m);
	const char *dot = subj ? strrchr(subj, '.') : NULL;
	const char *data = natsMsg_GetData(m);
	int len = natsMsg_GetDataLength(m);
	enum record_type t = 0;

	if (dot)
		t = nats_type_from_name(dot + 1, strlen(dot + 1));
	if (!t && data && len > 10 && !strncmp(data, "{\"type\":\"", 9)) {
		const char *q = memchr(data + 9, '"', (size_t)len - 9);

		if (q)
			t = nats_type_from_name(data + 9, (size_t)(q - data - 9));
	}
	return t;
}

/* Fills *it from message m; 0, or -1 when m can never be stored. */
static int to_item(struct collector *c, natsMsg *m, struct sink_item *it)
{
	jsMsgMetaData *meta = NULL;
	uint64_t stream_seq = 0;
	const char *host = NULL;

	if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
		if (meta->NumDelivered > 1)
			c->st.redelivered++;
		stream_seq = meta->Sequence.Stream;
		jsMsgMetaData_Destroy(meta);
	}
	*it = (struct sink_item){ .type = message_type(m) };
	if (!it->type || natsMsg_GetDataLength(m) <= 0)
		return -1;
	it->json = natsMsg_GetData(m);
	it->json_len = (size_t)natsMsg_GetDataLength(m);
	if (natsMsgHeader_Get(m, NATS_HDR_HOST, &host) == NATS_OK && host &&
	    !header_u64(m, NATS_HDR_RUN, &it->run) && !header_u64(m, NATS_HDR_SEQ, &it->seq)) {
		it->host = host;
		return 0;
	}
	/* Published by something else: the stream's sequence is a stable id
	 * (the same on every delivery), under run 0. */
	if (!stream_seq)
		return -1;
	c->st.no_ids++;
	it->host = "";
	it->run = 0;
	it->seq = stream_seq;
	return 0;
}

/* ---- the loop ---- */

/* Writes the n held items until the store takes them or we stop; the
 * messages are acknowledged after, or handed back (nak) on a failure so
 * another collector may store them. */
static void store_batch(struct collector *c, size_t n)
{
	char err[256] = "";

	if (store_connect(c, err, sizeof(err)) ||
	    c->store_ops->write(c->store, c->items, n, err, sizeof(err))) {
		c->st.store_failures++;
		fprintf(stderr, "xdpi collect: store %s: %s; retrying in %" PRIu64 " ms\n",
			out_shown, err[0] ? err : "write failed", c->store_backoff);
		if (c->store_up && c->store_ops->disconnect)
			c->store_ops->disconnect(c->store);
		c->store_up = 0;
		for (size_t i = 0; i < n; i++)
			natsMsg_NakWithDelay(c->held[i], (int64_t)c->store_backoff, NULL);
		sleep_ms(c->store_backoff);
		c->store_backoff = c->store_backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
			c->store_backoff * 2;
		return;
	}
	c->store_backoff = BACKOFF_MIN_MS;
	for (size_t i = 0; i < n; i++)
		natsMsg_Ack(c->held[i], NULL);
	c->st.stored += n;
	c->st.batches++;
}

static int collect_loop(struct collector *c)
{
	char err[256];
	uint64_t backoff = BACKOFF_MIN_MS, last_report = 0, last_check = 0;
	int errors = 0;

	c->last_msg_ns = mono_ns();
	while (!stop_requested) {
		natsMsgList list = { 0 };
		uint64_t now = mono_ns();
		jsErrCode jerr = 0;
		natsStatus st;
		size_t n = 0;

		/* The idle clock runs from the first subscription on. */
		if (c->o.idle_exit_ns && c->subscribed_once &&
		    now - c->last_msg_ns >= c->o.idle_exit_ns && now - last_check >= NSEC_PER_SEC) {
			last_check = now;
			/* No answer (the consumer between leaders): not known to be
			 * empty, so keep going. */
			if (consumer_drained(c) == 1)
				return 0;
		}
		err[0] = 0;
		if (nats_setup(c, err, sizeof(err))) {
			if (now - last_report >= 5 * NSEC_PER_SEC) {
				fprintf(stderr, "xdpi collect: %s; retrying\n", err);
				last_report = now;
			}
			sleep_ms(backoff);
			backoff = backoff * 2 > BACKOFF_MAX_MS / 6 ? BACKOFF_MAX_MS / 6 : backoff * 2;
			continue;
		}
		backoff = BACKOFF_MIN_MS;
		if (!c->subscribed_once) {
			char url[256] = "", shown[256] = "";

			natsConnection_GetConnectedUrl(c->nc, shown, sizeof(shown));
			runner_redact_uri(url, sizeof(url), shown);
			fprintf(stderr, "xdpi collect: consuming stream %s as %s through %s into %s\n",
				c->o.stream, c->o.durable, url, out_shown);
			c->subscribed_once = 1;
			c->last_msg_ns = mono_ns();
		}
		st = natsSubscription_Fetch(&list, c->sub, c->o.batch, FETCH_WAIT_MS, &jerr);
		if (st == NATS_TIMEOUT)
			continue;
		if (st != NATS_OK) {
			/* Mostly a node lost under us: the library reconnects. After
			 * a run of failures, subscribe again (the consumer may be
			 * gone). */
			if (now - last_report >= 5 * NSEC_PER_SEC) {
				nats_err(err, sizeof(err), "nats: fetch", st);
				fprintf(stderr, "xdpi collect: %s\n", err);
				last_report = now;
			}
			if (++errors >= 10) {
				drop_subscription(c);
				errors = 0;
			}
			sleep_ms(BACKOFF_MIN_MS);
			continue;
		}
		errors = 0;
		if (list.Count > 0)
			c->last_msg_ns = mono_ns();
		for (int i = 0; i < list.Count; i++) {
			natsMsg *m = list.Msgs[i];

			if (to_item(c, m, &c->items[n])) {
				/* Never storable: not delivered again. */
				natsMsg_Term(m, NULL);
				c->st.rejected++;
				continue;
			}
			c->held[n++] = m;
		}
		if (n)
			store_batch(c, n);
		natsMsgList_Destroy(&list);
	}
	return 0;
}

static void print_summary(const struct collector *c)
{
	fprintf(stderr, "xdpi collect: %" PRIu64 " records stored in %" PRIu64 " batches; "
		"%" PRIu64 " redeliveries seen, %" PRIu64 " store failures, %" PRIu64
		" rejected, %" PRIu64 " without ids\n",
		c->st.stored, c->st.batches, c->st.redelivered, c->st.store_failures,
		c->st.rejected, c->st.no_ids);
}

static uint64_t random_run(void)
{
	uint64_t id = 0;

	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = real_ns() ^ ((uint64_t)getpid() << 32);
	return id >> 1;
}

static void collector_free(struct collector *c)
{
	closing = 1;
	drop_subscription(c);
	if (c->nc)
		natsConnection_FlushTimeout(c->nc, 2000); /* the last acks */
	jsCtx_Destroy(c->js);
	natsConnection_Destroy(c->nc);
	natsOptions_Destroy(c->nopts);
	nats_servers_free(&c->servers);
	if (c->store)
		c->store_ops->close(c->store);
	free(c->items);
	free(c->held);
}

int cmd_collect(int argc, char **argv)
{
	struct collector c = { 0 };
	char err[512] = "";
	const char *target = NULL;
	char name[320];
	int rc;

	rc = parse_args(argc, argv, &c.o);
	if (rc)
		return rc < 0 ? 0 : rc;
	c.store_ops = find_store(c.o.out, &target, err, sizeof(err));
	if (!c.store_ops) {
		fprintf(stderr, "xdpi collect: %s\n", err);
		return 2;
	}
	if (c.store_ops->max_batch && (uint32_t)c.o.batch > c.store_ops->max_batch)
		c.o.batch = (int)c.store_ops->max_batch;
	runner_redact_uri(out_shown, sizeof(out_shown), c.o.out);
	runner_redact_uri(from_shown, sizeof(from_shown), c.o.from);
	if (nats_servers_parse(c.o.from, &c.servers, err, sizeof(err))) {
		fprintf(stderr, "xdpi collect: --from: %s\n", err);
		return 2;
	}
	if (gethostname(c.host, sizeof(c.host) - 1) || !c.host[0])
		snprintf(c.host, sizeof(c.host), "localhost");
	c.store_backoff = BACKOFF_MIN_MS;
	c.env = (struct sink_env){ .host = c.host, .run = random_run(), .live = 0 };
	snprintf(name, sizeof(name), "xdpi-collect %s %s", c.o.durable, c.host);
	c.nopts = nats_client_options(&c.servers, name, err, sizeof(err));
	c.items = calloc((size_t)c.o.batch, sizeof(*c.items));
	c.held = calloc((size_t)c.o.batch, sizeof(*c.held));
	if (!c.nopts || !c.items || !c.held) {
		fprintf(stderr, "xdpi collect: %s\n", err[0] ? err : "out of memory");
		collector_free(&c);
		return 1;
	}
	natsOptions_SetDisconnectedCB(c.nopts, on_disconnected, NULL);
	natsOptions_SetReconnectedCB(c.nopts, on_reconnected, NULL);
	c.store = c.store_ops->open(target, &c.env, err, sizeof(err));
	if (!c.store) {
		fprintf(stderr, "xdpi collect: --out %s: %s\n", out_shown, err);
		collector_free(&c);
		return 2;
	}
	install_signals();
	err[0] = 0;
	if (store_connect(&c, err, sizeof(err)))
		fprintf(stderr, "xdpi collect: store %s not reachable (%s); retrying\n", out_shown,
			err);
	rc = collect_loop(&c);
	if (!c.o.quiet)
		print_summary(&c);
	collector_free(&c);
	return rc;
}
