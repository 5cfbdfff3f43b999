/* libFuzzer target: the SSH identification string parser
 * (src/proto/ssh.c) on arbitrary bytes.
 *
 * Every parse gets a copy that ends where its input does, so reads past
 * len are caught. Besides the sanitizers, the invariants below trap on
 * results that cannot be right for any input: fields end within their
 * arrays and hold only what ssh.h allows, the result ends at an LF within
 * the line limits, and prefixes agree with the whole (a complete banner
 * parses the same however much follows it, a shorter prefix needs more,
 * -1 on a prefix stays -1). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ssh.h"

#define ENSURE(c)                                                              \
	do {                                                                   \
		if (!(c))                                                      \
			__builtin_trap();                                      \
	} while (0)

#define TERMINATED(a) ENSURE(memchr((a), 0, sizeof(a)) != NULL)

static int parse(const uint8_t *data, size_t len, struct ssh_banner *b)
{
	uint8_t *buf = malloc(len ? len : 1);
	int rc;

	ENSURE(buf);
	memcpy(buf, data, len);
	memset(b, 0xa5, sizeof(*b));
	rc = ssh_parse_banner(buf, len, b);
	free(buf);
	return rc;
}

static void check_banner(const struct ssh_banner *b, const uint8_t *data, int rc)
{
	static const struct ssh_banner zero;
	size_t np, ns;

	TERMINATED(b->proto);
	TERMINATED(b->software);
	TERMINATED(b->comments);
	if (rc <= 0) {
		ENSURE(!memcmp(b, &zero, sizeof(zero)));
		return;
	}
	ENSURE(data[rc - 1] == '\n');
	ENSURE(rc <= (SSH_MAX_PRELINES + 1) * SSH_LINE_MAX);
	np = strlen(b->proto);
	ns = strlen(b->software);
	ENSURE(np > 0 && ns > 0);
	for (size_t i = 0; i < np; i++)
		ENSURE(b->proto[i] > 0x20 && b->proto[i] < 0x7f && b->proto[i] != '-');
	for (size_t i = 0; i < ns; i++)
		ENSURE(b->software[i] > 0x20 && b->software[i] < 0x7f);
	for (const char *c = b->comments; *c; c++)
		ENSURE((uint8_t)*c >= 0x20 && *c != 0x7f);
	/* The line it came from is "SSH-" proto "-" software [" " comments]. */
	ENSURE(np + ns + 6 <= SSH_LINE_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ssh_banner whole, part;
	int rc = parse(data, size, &whole);
	size_t cuts[4];

	ENSURE(rc >= -1 && (size_t)(rc > 0 ? rc : 0) <= size);
	check_banner(&whole, data, rc);
	ENSURE(ssh_detect(data, size) == (size >= 4 && !memcmp(data, "SSH-", 4)));

	cuts[0] = size ? size - 1 : 0;
	cuts[1] = size / 2;
	cuts[2] = rc > 0 ? (size_t)rc : 0;
	cuts[3] = rc > 0 ? (size_t)rc - 1 : 0;
	for (int i = 0; i < 4; i++) {
		int pk = parse(data, cuts[i], &part);

		check_banner(&part, data, pk);
		if (rc > 0 && cuts[i] >= (size_t)rc) {
			ENSURE(pk == rc && !memcmp(&part, &whole, sizeof(part)));
		} else if (rc >= 0) {
			ENSURE(pk == 0);
		}
		if (pk < 0)
			ENSURE(rc < 0);
	}
	return 0;
}
