#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void fmt_time_us(char *buf, size_t len, uint64_t epoch_ns)
{
	time_t sec = (time_t)(epoch_ns / NSEC_PER_SEC);
	unsigned usec = (unsigned)((epoch_ns % NSEC_PER_SEC) / 1000);
	struct tm tm;

	gmtime_r(&sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
}

void fmt_addr(char *buf, size_t len, const uint8_t *addr, int family)
{
	if (!inet_ntop(family == 6 ? AF_INET6 : AF_INET, addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

/* 64x64 -> 128-bit multiply, folded: the mixing step of wyhash-style hashes. */
static inline uint64_t mum(uint64_t a, uint64_t b)
{
	__uint128_t r = (__uint128_t)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* Per event on the ingestion thread, per packet offline: three independent
 * multiplies over the key's five words, then one to mix them. */
uint64_t flow_key_hash(const struct xdpi_flow_key *k, uint64_t seed)
{
	uint64_t w[5], h;

	memcpy(w, k, sizeof(w));
	h = mum(w[0] ^ seed ^ 0xa0761d6478bd642fULL, w[1] ^ 0xe7037ed1a0b428dbULL) ^
	    mum(w[2] ^ 0x8ebc6af09c88c6e3ULL, w[3] ^ 0x589965cc75374cc3ULL) ^
	    mum(w[4] ^ 0x1d8e4e27c47d124fULL, seed ^ 0x9e3779b97f4a7c15ULL);
	return mum(h ^ 0xa0761d6478bd642fULL, 0xe7037ed1a0b428dbULL);
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t mono_ns(void) { return clock_ns(CLOCK_MONOTONIC); }
uint64_t real_ns(void) { return clock_ns(CLOCK_REALTIME); }

int parse_size(const char *s, int binary, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1, base = binary ? 1024 : 1000;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	v = strtoull(s, &end, 10);
	switch (tolower((unsigned char)*end)) {
	case 'k': mul = base; end++; break;
	case 'm': mul = base * base; end++; break;
	case 'g': mul = base * base * base; end++; break;
	default: break;
	}
	if (*end == 'i' || *end == 'b' || *end == 'B')
		end++;
	if (*end)
		return -1;
	*out = v * mul;
	return 0;
}

int parse_duration_ns(const char *s, uint64_t *out)
{
	char *end;
	double v;

	if (!s || !(isdigit((unsigned char)*s) || *s == '.'))
		return -1;
	v = strtod(s, &end);
	if (v < 0)
		return -1;
	if (!strcmp(end, "ms"))
		v /= 1000.0;
	else if (!strcmp(end, "m") || !strcmp(end, "min"))
		v *= 60.0;
	else if (*end && strcmp(end, "s"))
		return -1;
	*out = (uint64_t)(v * 1e9);
	return 0;
}

/* Length of a valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	size_t need;
	uint32_t cp;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	need = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (n < need)
		return 0;
	cp = s[0] & (0x7f >> need);
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((need == 3 && cp < 0x800) || (need == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need;
}
