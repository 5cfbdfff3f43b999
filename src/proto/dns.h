/* DNS message parser (RFC 1035): header, questions and answer records of
 * one message, decoded into fixed-size text fields. Pure functions: no
 * allocation, no global state, never a read outside buf[0..len).
 *
 * Names are the labels joined with '.', without a trailing dot; the root
 * name is "". Inside a label every byte outside '!'..'~', and '.' and '\\',
 * is written as \DDD (decimal, as dig does), so names are safe text.
 * Compression pointers are followed only strictly backwards from the label
 * that holds them, at most DNS_MAX_HOPS times, and the expanded wire name
 * must fit in 255 bytes; anything else makes the entry malformed.
 *
 * a[] holds records of the answer section only; the authority and
 * additional sections are walked (so a cut or malformed record there sets
 * truncated) but not stored. */
#ifndef XDPI_PROTO_DNS_H
#define XDPI_PROTO_DNS_H

#include <stddef.h>
#include <stdint.h>

#define DNS_MAX_NAME 256     /* text form incl. NUL; longer names are cut and flagged */
#define DNS_MAX_QUESTIONS 4
#define DNS_MAX_ANSWERS 16

#define DNS_HDR_LEN   12
#define DNS_MAX_HOPS  32     /* compression pointers followed per name */
#define DNS_MAX_WIRE_NAME 255

#define DNS_TYPE_A     1
#define DNS_TYPE_NS    2
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_SOA   6
#define DNS_TYPE_PTR   12
#define DNS_TYPE_MX    15
#define DNS_TYPE_TXT   16
#define DNS_TYPE_AAAA  28
#define DNS_TYPE_OPT   41
#define DNS_TYPE_ANY   255

#define DNS_CLASS_IN 1

#define DNS_RCODE_NOERROR  0
#define DNS_RCODE_FORMERR  1
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3

struct dns_question {
	char name[DNS_MAX_NAME];
	uint16_t type, class;
};

struct dns_answer {
	char name[DNS_MAX_NAME];
	uint16_t type, class;
	uint32_t ttl;
	/* A/AAAA as text, CNAME/PTR/NS target name, MX "pref name", TXT: total
	 * length of its strings as decimal text; other types: empty. */
	char data[DNS_MAX_NAME];
	uint16_t rdlength;
};

struct dns_msg {
	uint16_t id, flags;
	uint8_t qr, opcode, rcode, aa, tc, rd, ra;
	uint16_t qdcount, ancount, nscount, arcount;
	uint8_t nq, na;          /* parsed entries stored */
	struct dns_question q[DNS_MAX_QUESTIONS];
	struct dns_answer a[DNS_MAX_ANSWERS];
	/* Message ended early or an entry was malformed: what was parsed is
	 * kept. Also set when a name or data text did not fit its field and
	 * was cut (at a character boundary, never inside an escape). */
	uint8_t truncated;
};

/* Parses one DNS message (UDP payload, or one TCP message without its
 * 2-byte length). 0 on success (possibly with truncated set), -1 if it is
 * not a DNS message at all: shorter than a header, opcode > 6, a query
 * (qr 0) without questions, or counts whose smallest encoding (5 bytes per
 * question, 11 per record) would not fit in any DNS message (65535 bytes).
 * Parsing stops at the first entry whose name or fixed fields are
 * malformed or cut; a record whose rdata alone is malformed is kept with
 * empty data. Entries past DNS_MAX_QUESTIONS/DNS_MAX_ANSWERS are checked
 * but not stored (nq/na < qdcount/ancount, truncated not set). *out is
 * fully written in every case. */
int dns_parse(const uint8_t *buf, size_t len, struct dns_msg *out);

/* Content-based detection (ports not used): 1 if buf looks like a DNS
 * message, 0 otherwise. buf is a UDP payload, or a TCP payload that starts
 * with the 2-byte length prefix. It must parse, have no reserved Z bit,
 * 1..DNS_MAX_QUESTIONS questions that all decode with a known class, and
 * a query must carry rcode 0. Records may be cut (snap length). */
int dns_detect(const uint8_t *buf, size_t len);

/* TCP: the length prefix. Returns the message length of the message
 * starting at buf (needs 2 bytes), 0 if fewer than 2 bytes. */
size_t dns_tcp_msg_len(const uint8_t *buf, size_t len);

#endif
