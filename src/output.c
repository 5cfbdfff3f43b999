#include "output.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sink/jsonl.h"

struct output {
	FILE *f;
	int owned;
	int failed;
	uint64_t records;
};

struct output *output_open(const char *path)
{
	struct output *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	if (!path || !strcmp(path, "-")) {
		o->f = stdout;
	} else {
		o->f = fopen(path, "w");
		if (!o->f) {
			fprintf(stderr, "xdpi: cannot write %s: %s\n", path, strerror(errno));
			free(o);
			return NULL;
		}
		o->owned = 1;
	}
	/* Whole lines as they come on a terminal, big writes otherwise. */
	if (isatty(fileno(o->f)))
		setvbuf(o->f, NULL, _IOLBF, 0);
	else
		setvbuf(o->f, NULL, _IOFBF, 1 << 16);
	return o;
}

int output_flow(struct output *o, const struct flow_record *r)
{
	char line[1024];
	size_t n = jsonl_format_flow(line, sizeof(line), r);

	if (!n || fwrite(line, 1, n, o->f) != n) {
		o->failed = 1;
		return -1;
	}
	o->records++;
	return 0;
}

int output_flush(struct output *o)
{
	return fflush(o->f) ? -1 : 0;
}

uint64_t output_records(const struct output *o)
{
	return o->records;
}

int output_close(struct output *o)
{
	int rc;

	if (!o)
		return 0;
	rc = fflush(o->f) ? -1 : 0;
	if (o->owned && fclose(o->f))
		rc = -1;
	if (o->failed)
		rc = -1;
	free(o);
	return rc;
}
