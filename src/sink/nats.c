/* NATS JetStream sink: each record's JSON line is published to
 * xdpi.<host>.<type> with a message id "<host>:<run>:<seq>", so the stream's
 * duplicate window drops a batch the runner gives again after a failure.
 * Publishing is asynchronous within a batch; write() returns once every
 * message of the batch is acknowledged by the stream. */
#include "sink/nats.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sink/jsonl.h"
#include "sink/sink.h"

#define NATS_MAX_SERVERS 32
/* How long a batch waits for its acknowledgements: longer than a stream
 * leader election after a node is lost (a few seconds). */
#define NATS_ACK_WAIT_MS 8000
/* Within it, JetStream drops a message whose id it has seen. */
#define NATS_DUP_WINDOW_NS (2ll * 60 * 1000000000ll)

/* ---- shared with `xdpi collect` ---- */

void nats_err(char *err, size_t errlen, const char *what, natsStatus s)
{
	natsStatus last = NATS_OK;
	const char *text = nats_GetLastError(&last);

	if (!text || !*text)
		text = natsStatus_GetText(s);
	/* libnats puts its source position first: "(conn.c:2088): ". */
	if (text[0] == '(') {
		const char *end = strstr(text, "): ");

		if (end)
			text = end + 3;
	}
	snprintf(err, errlen, "%s: %s", what, text);
}

static const char *const type_names[] = {
	[REC_FLOW] = "flow", [REC_DNS] = "dns", [REC_TLS] = "tls",
	[REC_HTTP] = "http", [REC_QUIC] = "quic", [REC_SSH] = "ssh",
};

const char *nats_type_name(enum record_type t)
{
	if ((unsigned)t >= sizeof(type_names) / sizeof(type_names[0]))
		return NULL;
	return type_names[t];
}

enum record_type nats_type_from_name(const char *name, size_t len)
{
	for (size_t t = 1; t < sizeof(type_names) / sizeof(type_names[0]); t++)
		if (type_names[t] && strlen(type_names[t]) == len && !memcmp(type_names[t], name, len))
			return (enum record_type)t;
	return 0;
}

void nats_servers_free(struct nats_servers *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->urls[i]);
	free(s->urls);
	s->urls = NULL;
	s->n = 0;
}

/* One "HOST:PORT" (or "[V6]:PORT"), len bytes at p; NULL when it is not. */
static const char *server_problem(const char *p, size_t len)
{
	const char *colon;
	size_t hostlen, i;
	unsigned long port = 0;

	if (!len)
		return "an empty server";
	if (p[0] == '[') {
		const char *close = memchr(p, ']', len);

		if (!close || close + 1 >= p + len || close[1] != ':')
			return "an IPv6 address goes in brackets: [ADDR]:PORT";
		colon = close + 1;
	} else {
		colon = NULL;
		for (i = 0; i < len; i++)
			if (p[i] == ':')
				colon = p + i;
		if (!colon)
			return "no :PORT";
	}
	hostlen = (size_t)(colon - p);
	if (!hostlen)
		return "no HOST";
	for (i = 0; i < hostlen; i++)
		if (p[i] <= ' ' || strchr("/@?#,", p[i]))
			return "a character that cannot be in a host name";
	if (p[0] != '[' && memchr(p, ':', hostlen))
		return "an IPv6 address goes in brackets: [ADDR]:PORT";
	if (colon + 1 == p + len)
		return "no port after ':'";
	for (const char *q = colon + 1; q < p + len; q++) {
		if (*q < '0' || *q > '9')
			return "the port is not a number";
		port = port * 10 + (unsigned long)(*q - '0');
		if (port > 65535)
			return "the port is over 65535";
	}
	if (!port)
		return "port 0";
	return NULL;
}

int nats_servers_parse(const char *target, struct nats_servers *out, char *err, size_t errlen)
{
	const char *p = target;

	memset(out, 0, sizeof(*out));
	if (!strncmp(p, "nats:", 5))
		p += 5;
	if (!strncmp(p, "//", 2))
		p += 2;
	if (!*p) {
		snprintf(err, errlen, "nats: no server given: expected "
			 "nats://[USER:PASSWORD@]HOST:PORT[,HOST:PORT...]");
		return -1;
	}
	out->urls = calloc(NATS_MAX_SERVERS, sizeof(*out->urls));
	if (!out->urls) {
		snprintf(err, errlen, "nats: out of memory");
		return -1;
	}
	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p), hostlen;
		const char *why, *at, *host;

		/* Each entry may repeat the scheme: nats://a:1,nats://b:2. */
		if (len >= 7 && !strncmp(p, "nats://", 7)) {
			p += 7;
			len -= 7;
		}
		/* USER:PASSWORD@ or TOKEN@ before the host: libnats takes them
		 * from the URL. Messages never show them. */
		at = memrchr(p, '@', len);
		host = at ? at + 1 : p;
		hostlen = len - (size_t)(host - p);
		why = at == p ? "nothing before '@'" : server_problem(host, hostlen);
		if (!why && out->n == NATS_MAX_SERVERS)
			why = "more than 32 servers";
		if (why) {
			snprintf(err, errlen, "nats: bad server '%s%.*s' (%s): expected "
				 "nats://[USER:PASSWORD@]HOST:PORT[,HOST:PORT...]", at ? "***@" : "",
				 (int)hostlen, host, why);
			nats_servers_free(out);
			return -1;
		}
		if (asprintf(&out->urls[out->n], "nats://%.*s", (int)len, p) < 0) {
			out->urls[out->n] = NULL;
			snprintf(err, errlen, "nats: out of memory");
			nats_servers_free(out);
			return -1;
		}
		out->n++;
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}

char *nats_servers_display(const struct nats_servers *s)
{
	size_t len = 1;
	char *out, *w;

	for (int i = 0; i < s->n; i++)
		len += strlen(s->urls[i]) + 5;
	out = malloc(len);
	if (!out)
		return NULL;
	w = out;
	for (int i = 0; i < s->n; i++) {
		const char *hostport = s->urls[i] + 7; /* after "nats://" */
		const char *at = strrchr(hostport, '@');

		w += sprintf(w, "%s%s%s", i ? "," : "", at ? "***@" : "", at ? at + 1 : hostport);
	}
	*w = 0;
	return out;
}

natsOptions *nats_client_options(const struct nats_servers *s, const char *name,
				 char *err, size_t errlen)
{
	natsOptions *o = NULL;
	natsStatus st = natsOptions_Create(&o);

	if (st == NATS_OK)
		st = natsOptions_SetServers(o, (const char **)s->urls, s->n);
	if (st == NATS_OK)
		st = natsOptions_SetName(o, name);
	/* Never give up: the library moves to another node of the cluster. */
	if (st == NATS_OK)
		st = natsOptions_SetMaxReconnect(o, -1);
	if (st == NATS_OK)
		st = natsOptions_SetReconnectWait(o, 250);
	if (st == NATS_OK)
		st = natsOptions_SetReconnectJitter(o, 100, 1000);
	if (st == NATS_OK)
		st = natsOptions_SetTimeout(o, 2000);
	/* A silent peer (a partition, not a closed socket) is noticed in ~10 s. */
	if (st == NATS_OK)
		st = natsOptions_SetPingInterval(o, 5000);
	if (st == NATS_OK)
		st = natsOptions_SetMaxPingsOut(o, 2);
	/* Requests (stream and consumer lookups) fail at once while
	 * disconnected instead of waiting their whole timeout. */
	if (st == NATS_OK)
		st = natsOptions_SetFailRequestsOnDisconnect(o, true);
	if (st != NATS_OK) {
		nats_err(err, errlen, "nats: client options", st);
		natsOptions_Destroy(o);
		return NULL;
	}
	return o;
}

int nats_ensure_stream(jsCtx *js, const char *stream, int nservers, char *err, size_t errlen)
{
	const char *subjects[] = { NATS_SUBJECTS };
	jsStreamInfo *si = NULL;
	jsStreamConfig sc;
	jsErrCode jerr = 0;
	natsStatus st;

	st = js_GetStreamInfo(&si, js, stream, NULL, &jerr);
	if (st == NATS_OK) {
		jsStreamInfo_Destroy(si);
		return 0;
	}
	if (st != NATS_NOT_FOUND && jerr != JSStreamNotFoundErr) {
		char what[96];

		snprintf(what, sizeof(what), "nats: stream %s", stream);
		nats_err(err, errlen, what, st);
		return -1;
	}
	jsStreamConfig_Init(&sc);
	sc.Name = stream;
	sc.Subjects = subjects;
	sc.SubjectsLen = 1;
	sc.Storage = js_FileStorage;
	sc.Replicas = nservers < 3 ? nservers : 3;
	sc.Duplicates = NATS_DUP_WINDOW_NS;
	jerr = 0;
	st = js_AddStream(&si, js, &sc, NULL, &jerr);
	jsStreamInfo_Destroy(si);
	/* Another client may have made it meanwhile. */
	if (st == NATS_OK || jerr == JSStreamNameExistErr)
		return 0;
	{
		char what[128];

		snprintf(what, sizeof(what), "nats: creating stream %s (subjects %s, %d replicas)",
			 stream, NATS_SUBJECTS, (int)sc.Replicas);
		nats_err(err, errlen, what, st);
	}
	return -1;
}

/* ---- the sink ---- */

struct nats_sink {
	char *target;
	struct nats_servers servers;
	natsOptions *opts;
	natsConnection *nc;
	jsCtx *js;
	int stream_ok;
	const char *env_host;
	char client_name[96];
	/* The subject token of the last host seen, and that host. */
	char host_raw[REC_NAME];
	char host_token[REC_NAME];
	char *line;                  /* JSON of records that come without it */
	/* Written by the library's thread that takes acknowledgements. */
	atomic_uint pub_errors;
	pthread_mutex_t err_lock;
	char pub_err[160];
};

/* A subject token cannot hold '.', wildcards or white space. */
static void host_token(struct nats_sink *s, const char *host)
{
	size_t i;

	if (!strcmp(host, s->host_raw) && s->host_token[0])
		return;
	snprintf(s->host_raw, sizeof(s->host_raw), "%s", host);
	for (i = 0; host[i] && i + 1 < sizeof(s->host_token); i++) {
		unsigned char c = (unsigned char)host[i];

		s->host_token[i] = (c <= ' ' || c == 0x7f || c == '.' || c == '*' || c == '>') ?
			'_' : (char)c;
	}
	if (!i)
		s->host_token[i++] = '_';
	s->host_token[i] = 0;
}

static void on_pub_error(jsCtx *js, jsPubAckErr *pae, void *closure)
{
	struct nats_sink *s = closure;

	(void)js;
	if (atomic_fetch_add(&s->pub_errors, 1) == 0) {
		pthread_mutex_lock(&s->err_lock);
		snprintf(s->pub_err, sizeof(s->pub_err), "%s",
			 pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err));
		pthread_mutex_unlock(&s->err_lock);
	}
}

static void *nats_open(const char *target, const struct sink_env *env, char *err, size_t errlen)
{
	struct nats_sink *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "nats: out of memory");
		return NULL;
	}
	pthread_mutex_init(&s->err_lock, NULL);
	if (nats_servers_parse(target, &s->servers, err, errlen))
		goto fail;
	s->target = nats_servers_display(&s->servers);
	s->line = malloc(JSONL_LINE_MAX);
	s->env_host = env && env->host ? env->host : "";
	snprintf(s->client_name, sizeof(s->client_name), "xdpi-producer %s", s->env_host);
	if (!s->target || !s->line) {
		snprintf(err, errlen, "nats: out of memory");
		goto fail;
	}
	s->opts = nats_client_options(&s->servers, s->client_name, err, errlen);
	if (!s->opts)
		goto fail;
	return s;
fail:
	nats_servers_free(&s->servers);
	free(s->target);
	free(s->line);
	pthread_mutex_destroy(&s->err_lock);
	free(s);
	return NULL;
}

static void drop_connection(struct nats_sink *s)
{
	jsCtx_Destroy(s->js);
	s->js = NULL;
	natsConnection_Destroy(s->nc);
	s->nc = NULL;
	s->stream_ok = 0;
}

/* Takes back the messages still waiting for an acknowledgement, so the next
 * batch starts clean; their late acknowledgements are then ignored. */
static size_t forget_pending(struct nats_sink *s)
{
	natsMsgList pending = { 0 };
	size_t n = 0;

	if (s->js && js_PublishAsyncGetPendingList(&pending, s->js) == NATS_OK) {
		n = (size_t)pending.Count;
		natsMsgList_Destroy(&pending);
	}
	return n;
}

static int nats_connect(void *sink, char *err, size_t errlen)
{
	struct nats_sink *s = sink;
	natsStatus st;

	if (s->nc && natsConnection_Status(s->nc) == NATS_CONN_STATUS_CLOSED)
		drop_connection(s);
	if (!s->nc) {
		jsOptions jo;

		st = natsConnection_Connect(&s->nc, s->opts);
		if (st != NATS_OK) {
			char what[160];

			s->nc = NULL;
			snprintf(what, sizeof(what), "nats: connecting to %s", s->target);
			nats_err(err, errlen, what, st);
			return -1;
		}
		jsOptions_Init(&jo);
		jo.Wait = 5000;
		jo.PublishAsync.ErrHandler = on_pub_error;
		jo.PublishAsync.ErrHandlerClosure = s;
		st = natsConnection_JetStream(&s->js, s->nc, &jo);
		if (st != NATS_OK) {
			nats_err(err, errlen, "nats: JetStream context", st);
			drop_connection(s);
			return -1;
		}
	}
	if (!s->stream_ok) {
		if (nats_ensure_stream(s->js, NATS_STREAM_DEFAULT, s->servers.n, err, errlen))
			return -1;
		s->stream_ok = 1;
	}
	return 0;
}

static int set_header_u64(natsMsg *m, const char *key, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return natsMsgHeader_Set(m, key, buf) == NATS_OK ? 0 : -1;
}

/* One record as a message with its ids; NULL with err. */
static natsMsg *make_msg(struct nats_sink *s, const struct sink_item *it, char *err, size_t errlen)
{
	const char *type = nats_type_name(it->type);
	const char *host = it->host ? it->host : s->env_host;
	const char *json = it->json;
	size_t len = it->json_len;
	char subject[8 + REC_NAME + 8];
	char id[REC_NAME + 48];
	natsMsg *m = NULL;

	if (!type) {
		snprintf(err, errlen, "nats: record of unknown type %d", (int)it->type);
		return NULL;
	}
	if (!json) {
		len = it->rec ? jsonl_format(s->line, JSONL_LINE_MAX, it->type, it->rec) : 0;
		if (!len) {
			snprintf(err, errlen, "nats: %s record %" PRIu64 " has no JSON form", type,
				 it->seq);
			return NULL;
		}
		json = s->line;
	} else if (!len) {
		len = strlen(json);
	}
	if (len && json[len - 1] == '\n')
		len--;
	host_token(s, host);
	snprintf(subject, sizeof(subject), "xdpi.%s.%s", s->host_token, type);
	snprintf(id, sizeof(id), "%s:%" PRIu64 ":%" PRIu64, host, it->run, it->seq);
	if (natsMsg_Create(&m, subject, NULL, json, (int)len) != NATS_OK ||
	    natsMsgHeader_Set(m, "Nats-Msg-Id", id) != NATS_OK ||
	    natsMsgHeader_Set(m, NATS_HDR_HOST, host) != NATS_OK ||
	    set_header_u64(m, NATS_HDR_RUN, it->run) || set_header_u64(m, NATS_HDR_SEQ, it->seq)) {
		nats_err(err, errlen, "nats: message", NATS_NO_MEMORY);
		natsMsg_Destroy(m);
		return NULL;
	}
	return m;
}

static int nats_write(void *sink, const struct sink_item *it, size_t n, char *err, size_t errlen)
{
	struct nats_sink *s = sink;
	jsPubOptions po;
	natsStatus st;
	unsigned errors;
	size_t i;

	if (!s->js) {
		snprintf(err, errlen, "nats: not connected to %s", s->target);
		return -1;
	}
	atomic_store(&s->pub_errors, 0);
	for (i = 0; i < n; i++) {
		natsMsg *m = make_msg(s, &it[i], err, errlen);

		if (!m)
			break;
		st = js_PublishMsgAsync(s->js, &m, NULL);
		natsMsg_Destroy(m); /* NULL (a no-op) once the library owns it */
		if (st != NATS_OK) {
			nats_err(err, errlen, "nats: publish", st);
			break;
		}
	}
	if (i < n) {
		forget_pending(s);
		return -1;
	}
	jsPubOptions_Init(&po);
	po.MaxWait = NATS_ACK_WAIT_MS;
	st = js_PublishAsyncComplete(s->js, &po);
	if (st != NATS_OK) {
		size_t missing = forget_pending(s);

		snprintf(err, errlen, "nats: %zu of %zu messages not acknowledged within %d s "
			 "(%s)", missing, n, NATS_ACK_WAIT_MS / 1000, natsStatus_GetText(st));
		return -1;
	}
	errors = atomic_load(&s->pub_errors);
	if (errors) {
		pthread_mutex_lock(&s->err_lock);
		snprintf(err, errlen, "nats: JetStream refused %u of %zu messages: %s", errors, n,
			 s->pub_err);
		pthread_mutex_unlock(&s->err_lock);
		return -1;
	}
	return 0;
}

static int nats_tick(void *sink, uint64_t now_ns, char *err, size_t errlen)
{
	struct nats_sink *s = sink;

	(void)now_ns;
	/* Reconnecting is the library's job; only a closed connection is down. */
	if (!s->nc || natsConnection_Status(s->nc) == NATS_CONN_STATUS_CLOSED) {
		snprintf(err, errlen, "nats: connection to %s closed", s->target);
		return -1;
	}
	return 0;
}

static void nats_disconnect(void *sink)
{
	struct nats_sink *s = sink;

	forget_pending(s);
	/* A live connection (or one the library is reconnecting) is kept; the
	 * stream is looked up again: it may be what went missing. */
	if (s->nc && natsConnection_Status(s->nc) == NATS_CONN_STATUS_CLOSED)
		drop_connection(s);
	s->stream_ok = 0;
}

static void nats_close(void *sink)
{
	struct nats_sink *s = sink;

	if (!s)
		return;
	forget_pending(s);
	drop_connection(s);
	natsOptions_Destroy(s->opts);
	nats_servers_free(&s->servers);
	pthread_mutex_destroy(&s->err_lock);
	free(s->target);
	free(s->line);
	free(s);
}

const struct sink_ops sink_nats_ops = {
	.scheme = "nats",
	.max_batch = 1024,
	.linger_ms = 20,
	.open = nats_open,
	.connect = nats_connect,
	.write = nats_write,
	.tick = nats_tick,
	.disconnect = nats_disconnect,
	.close = nats_close,
};
