/* Small helpers shared by the user-space modules. */
#ifndef XDPI_UTIL_H
#define XDPI_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "xdpi/abi.h"

#define NSEC_PER_SEC 1000000000ULL

/* RFC 3339 UTC with microseconds: 2024-01-02T03:04:05.123456Z (28 bytes). */
void fmt_time_us(char *buf, size_t len, uint64_t epoch_ns);
/* Text form of a key address (family 4 or 6). */
void fmt_addr(char *buf, size_t len, const uint8_t *addr, int family);
/* 64-bit hash of a flow key, used for table slots and flow ids. */
uint64_t flow_key_hash(const struct xdpi_flow_key *k, uint64_t seed);
uint64_t mono_ns(void);
uint64_t real_ns(void);
/* Parses a non-negative integer with optional k/m/g suffix (powers of 1024
 * when binary is set, of 1000 otherwise); returns -1 on junk. */
int parse_size(const char *s, int binary, uint64_t *out);
/* Parses seconds with optional ms/s/m suffix into nanoseconds. */
int parse_duration_ns(const char *s, uint64_t *out);

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if it is
 * not one: overlong forms, surrogates and code points past U+10FFFF fail. */
size_t utf8_seq_len(const unsigned char *s, size_t n);

#endif
