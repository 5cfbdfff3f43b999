/* NATS JetStream: what the sink (sink_nats_ops) and `xdpi collect` share:
 * the server list, the client's reconnect settings and the stream. */
#ifndef XDPI_SINK_NATS_H
#define XDPI_SINK_NATS_H

#include <stddef.h>
#include <nats/nats.h>
#include "record.h"

#define NATS_STREAM_DEFAULT "XDPI"
#define NATS_SUBJECTS "xdpi.>"

/* Headers of every record message: Nats-Msg-Id is "<host>:<run>:<seq>". */
#define NATS_HDR_HOST "Xdpi-Host"
#define NATS_HDR_RUN "Xdpi-Run"
#define NATS_HDR_SEQ "Xdpi-Seq"

struct nats_servers {
	char **urls;    /* "nats://HOST:PORT" each */
	int n;
};

/* Parses "//HOST:PORT[,HOST:PORT...]" (the leading "//" optional); -1 with
 * a message in err on a bad list. */
int nats_servers_parse(const char *target, struct nats_servers *out, char *err, size_t errlen);
/* The servers as messages show them, "host:port,..." with credentials
 * replaced by "***@"; malloc'ed, NULL without memory. */
char *nats_servers_display(const struct nats_servers *s);
void nats_servers_free(struct nats_servers *s);

/* Client options: every server (fail over to another node), reconnect for
 * ever, requests fail at once while disconnected. NULL with err. */
natsOptions *nats_client_options(const struct nats_servers *s, const char *name,
				 char *err, size_t errlen);

/* Makes sure the stream exists (subjects xdpi.>, file storage, replicas
 * min(servers, 3)); an existing one is taken as it is. */
int nats_ensure_stream(jsCtx *js, const char *stream, int nservers, char *err, size_t errlen);

/* "what: libnats' text of the last error" into err. */
void nats_err(char *err, size_t errlen, const char *what, natsStatus s);

/* "flow", "dns", ... for subjects; NULL for an unknown type. */
const char *nats_type_name(enum record_type t);
/* The inverse; 0 when unknown. */
enum record_type nats_type_from_name(const char *name, size_t len);

#endif
