/* The JSON Lines output: a file, or stdout. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sink/jsonl.h"
#include "sink/sink.h"

#define OUT_BUF (1 << 16)

struct jsonl_sink {
	FILE *f;
	int owned;
	char *iobuf;
	char line[JSONL_LINE_MAX];
};

static void *jsonl_open(const char *target, const struct sink_env *env, char *err,
			size_t errlen)
{
	struct jsonl_sink *s = calloc(1, sizeof(*s));

	(void)env;
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!*target || !strcmp(target, "-")) {
		s->f = stdout;
	} else {
		s->f = fopen(target, "w");
		if (!s->f) {
			snprintf(err, errlen, "cannot write %s: %s", target, strerror(errno));
			free(s);
			return NULL;
		}
		s->owned = 1;
	}
	/* Whole lines as they come on a terminal, big writes otherwise. */
	s->iobuf = malloc(OUT_BUF);
	if (!s->iobuf) {
		if (s->owned)
			fclose(s->f);
		free(s);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	setvbuf(s->f, s->iobuf, isatty(fileno(s->f)) ? _IOLBF : _IOFBF, OUT_BUF);
	return s;
}

static int jsonl_write(void *p, const struct sink_item *it, size_t n, char *err, size_t errlen)
{
	struct jsonl_sink *s = p;

	for (size_t i = 0; i < n; i++) {
		const char *line = it[i].json;
		size_t len = it[i].json_len;

		if (!line) {
			len = jsonl_format(s->line, sizeof(s->line), it[i].type, it[i].rec);
			line = s->line;
		}
		if (!len)
			continue; /* cannot happen: lines are bounded well below the buffer */
		if (fwrite(line, 1, len, s->f) != len) {
			snprintf(err, errlen, "%s", strerror(errno));
			clearerr(s->f);
			return -1;
		}
	}
	return 0;
}

static int jsonl_tick(void *p, uint64_t now, char *err, size_t errlen)
{
	struct jsonl_sink *s = p;

	(void)now;
	if (fflush(s->f)) {
		snprintf(err, errlen, "%s", strerror(errno));
		clearerr(s->f);
		return -1;
	}
	return 0;
}

static void jsonl_close(void *p)
{
	struct jsonl_sink *s = p;

	fflush(s->f);
	if (s->owned)
		fclose(s->f);
	else
		setvbuf(s->f, NULL, _IONBF, 0); /* stdout must not keep our buffer */
	free(s->iobuf);
	free(s);
}

const struct sink_ops sink_jsonl_ops = {
	.scheme = "jsonl",
	.max_batch = 256,
	.linger_ms = 0,
	.open = jsonl_open,
	.write = jsonl_write,
	.tick = jsonl_tick,
	.close = jsonl_close,
};
