/* SSH identification strings: the parser on banners seen in practice,
 * line ends, limits, control characters and every prefix of its input;
 * then the DPI module on whole connections (either side first, banners
 * split over segments, one side silent), checking the ssh record it
 * writes and that flow records get no sni or host. */
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "dpi.h"
#include "proto/ssh.h"
#include "xdpi/parse.h"

static struct ssh_banner b;

static int parse(const char *s, size_t n)
{
	return ssh_parse_banner((const uint8_t *)s, n, &b);
}

static int parse_str(const char *s)
{
	return parse(s, strlen(s));
}

static void ok(const char *line, const char *proto, const char *sw, const char *comments)
{
	int n = parse_str(line);

	CHECK_EQ(n, strlen(line), line);
	CHECK(!strcmp(b.proto, proto), "%s: proto %s", line, b.proto);
	CHECK(!strcmp(b.software, sw), "%s: software %s", line, b.software);
	CHECK(!strcmp(b.comments, comments), "%s: comments %s", line, b.comments);
	/* Every shorter prefix needs more bytes; nothing is filled in. */
	for (size_t k = 0; k < strlen(line); k++) {
		int r = parse(line, k);

		CHECK(r == 0 && !b.proto[0], "%s: prefix %zu gave %d", line, k, r);
	}
}

static void bad(const char *line, const char *what)
{
	int n = parse_str(line);

	CHECK(n == -1 && !b.proto[0] && !b.software[0], "%s: got %d", what, n);
}

static void test_real(void)
{
	ok("SSH-2.0-OpenSSH_7.9\r\n", "2.0", "OpenSSH_7.9", "");
	ok("SSH-2.0-OpenSSH_7.6p1 Ubuntu-4ubuntu0.3\r\n", "2.0", "OpenSSH_7.6p1", "Ubuntu-4ubuntu0.3");
	ok("SSH-2.0-OpenSSH_8.9p1 Ubuntu-3\r\n", "2.0", "OpenSSH_8.9p1", "Ubuntu-3");
	ok("SSH-1.99-Cisco-1.25\r\n", "1.99", "Cisco-1.25", "");
	ok("SSH-2.0-dropbear_2019.78\r\n", "2.0", "dropbear_2019.78", "");
	ok("SSH-2.0-libssh_0.9.6\n", "2.0", "libssh_0.9.6", "");      /* no CR */
	ok("SSH-1.5-OpenSSH_3.9 comment with spaces\r\n", "1.5", "OpenSSH_3.9",
	   "comment with spaces");
	ok("SSH-2.0-X \r\n", "2.0", "X", "");                         /* empty comments */
	ok("SSH-2.0-X caf\xc3\xa9\r\n", "2.0", "X", "caf\xc3\xa9");   /* UTF-8 comments */
}

static void test_following_bytes(void)
{
	const char s[] = "SSH-2.0-OpenSSH_9.0\r\n\x00\x00\x01\x14\x0a\x14";

	CHECK_EQ(parse(s, sizeof(s) - 1), 21, "banner then binary packet");
	CHECK(!strcmp(b.software, "OpenSSH_9.0"), "software before a packet");
}

static void test_prelines(void)
{
	const char *s = "Welcome\r\nauthorised use only\nSSH-2.0-srv_1\r\n";
	char many[SSH_MAX_PRELINES * 3 + 64];
	size_t n = 0;

	CHECK_EQ(parse_str(s), strlen(s), "other lines first");
	CHECK(!strcmp(b.software, "srv_1"), "software after other lines");
	CHECK_EQ(parse(s, 12), 0, "other line, then part of the next");
	for (int i = 0; i < SSH_MAX_PRELINES; i++) {
		memcpy(many + n, "x\r\n", 3);
		n += 3;
	}
	memcpy(many + n, "SSH-2.0-a\r\n", 11);
	CHECK_EQ(parse(many, n + 11), (int)(n + 11), "SSH_MAX_PRELINES other lines");
	memmove(many + 3, many, n + 11);
	CHECK_EQ(parse(many, n + 14), -1, "one other line too many");
	CHECK_EQ(parse(many, n + 3), -1, "one other line too many, banner not there yet");
	CHECK_EQ(parse("SS\nSSH-2.0-a\n", 13), 13, "a short other line");
}

static void test_limits(void)
{
	char line[SSH_LINE_MAX + 8];
	size_t n;

	/* 255 bytes with CR LF: the longest accepted. */
	memcpy(line, "SSH-2.0-", 8);
	memset(line + 8, 'a', SSH_LINE_MAX - 10);
	memcpy(line + SSH_LINE_MAX - 2, "\r\n", 2);
	n = SSH_LINE_MAX;
	CHECK_EQ(parse(line, n), (int)n, "255 bytes");
	CHECK_EQ(strlen(b.software), SSH_LINE_MAX - 10, "longest software");
	/* One more byte. */
	memset(line + 8, 'a', SSH_LINE_MAX - 9);
	memcpy(line + SSH_LINE_MAX - 1, "\r\n", 2);
	CHECK_EQ(parse(line, n + 1), -1, "256 bytes");
	CHECK_EQ(parse(line, n), -1, "255 bytes without LF yet");
	CHECK_EQ(parse(line, n - 1), 0, "254 bytes without LF yet");
	/* A long other line is no banner either. */
	memset(line, 'x', sizeof(line));
	CHECK_EQ(parse(line, sizeof(line)), -1, "long other line");
}

static void test_bad(void)
{
	bad("SSH-2.0\r\n", "no software");
	bad("SSH-2.0-\r\n", "empty software");
	bad("SSH--x\r\n", "empty proto");
	bad("SSH-2 0-x\r\n", "space in proto");
	bad("SSH-2.0- x\r\n", "space before software");
	bad("SSH-2.0-a\tb\r\n", "tab");
	bad("SSH-2.0-a b\x01\r\n", "control in comments");
	bad("SSH-2.0-a\x7f\r\n", "DEL");
	bad("SSH-2.0-a\rb\r\n", "CR inside");
	bad("SSH-2.0-a\r\r\n", "two CRs");
	bad("SSH-2.0-caf\xc3\xa9\r\n", "non-ASCII software");
	bad("SSH-2.\xc3\xa9-a\r\n", "non-ASCII proto");
	CHECK_EQ(parse("SSH-2.0-a\0b\r\n", 13), -1, "NUL");
	CHECK_EQ(parse("", 0), 0, "empty");
	CHECK_EQ(ssh_parse_banner(NULL, 5, &b), 0, "NULL");
	CHECK_EQ(ssh_detect((const uint8_t *)"SSH-", 4), 1, "detect");
	CHECK_EQ(ssh_detect((const uint8_t *)"SSH", 3), 0, "detect short");
	CHECK_EQ(ssh_detect((const uint8_t *)"ssh-2.0", 7), 0, "detect case");
}

/* ---- through the DPI module ---- */

static char out_path[] = "/tmp/xdpi-ssh.XXXXXX";
static char lines[1 << 16];

static struct dpi *dpi_open(struct output **o)
{
	struct dpi_opts opts = { .max_flows = 64, .reasm_bytes = 4096, .reasm_bufs = 64 };
	int fd = mkstemp(out_path);

	close(fd);
	*o = output_open_jsonl(out_path);
	opts.out = *o;
	return *o ? dpi_new(&opts) : NULL;
}

static void dpi_close(struct dpi *d, struct output *o)
{
	FILE *f;
	size_t n;

	dpi_flush_all(d);
	dpi_free(d);
	output_close(o);
	f = fopen(out_path, "r");
	n = f ? fread(lines, 1, sizeof(lines) - 1, f) : 0;
	lines[n] = 0;
	if (f)
		fclose(f);
	unlink(out_path);
	strcpy(out_path, "/tmp/xdpi-ssh.XXXXXX");
}

static struct xdpi_flow_key key(uint16_t n)
{
	struct xdpi_flow_key k;

	memset(&k, 0, sizeof(k));
	k.lo_addr[0] = 10;
	k.hi_addr[0] = 11;
	k.lo_port = 22;
	k.hi_port = n;
	k.proto = XDPI_IPPROTO_TCP;
	k.family = 4;
	k.vlan = XDPI_VLAN_NONE;
	return k;
}

/* A segment of the stream of dir starting at byte off (SYN at seq 0). */
static void seg(struct dpi *d, const struct xdpi_flow_key *k, uint8_t dir, uint8_t fwd,
		uint32_t off, const char *s, uint64_t ts)
{
	dpi_payload(d, k, k->hi_port, dir, fwd, 1 + off, 0x18, (const uint8_t *)s,
		    (uint32_t)strlen(s), ts);
}

static void syn(struct dpi *d, const struct xdpi_flow_key *k, uint8_t dir, uint8_t fwd)
{
	dpi_payload(d, k, k->hi_port, dir, fwd, 0, XDPI_TCP_SYN, NULL, 0, 0);
}

static void has(const char *want, const char *what)
{
	CHECK(strstr(lines, want) != NULL, "%s: %s not in\n%s", what, want, lines);
}

static void test_dpi(void)
{
	struct output *o;
	struct dpi *d = dpi_open(&o);
	struct xdpi_flow_key k1 = key(1001), k2 = key(1002), k3 = key(1003), k4 = key(1004);
	struct flow_record fr;

	CHECK(d != NULL, "dpi_new");
	if (!d)
		return;
	/* Flow 1: client (dir 1, the first packet's) speaks after the server,
	 * whose banner comes in two segments. */
	syn(d, &k1, 1, 1);
	syn(d, &k1, 0, 1);
	seg(d, &k1, 0, 1, 0, "SSH-2.0-OpenSSH_8.9p1 Ub", 1000);
	seg(d, &k1, 0, 1, 24, "untu-3\r\n", 2000);
	seg(d, &k1, 1, 1, 0, "SSH-2.0-PuTTY_Release_0.78\r\n", 3000);
	/* Flow 2: the client's banner only; the server sends junk. */
	seg(d, &k2, 0, 0, 0, "SSH-2.0-Go\r\n", 4000);
	seg(d, &k2, 1, 0, 0, "\x01\x02\x03\x04\x05\x06\x07\x08\n", 5000);
	/* Flow 3: server banner only, the flow ends before the client's. */
	seg(d, &k3, 1, 0, 0, "SSH-1.99-Cisco-1.25\r\n", 6000);
	seg(d, &k3, 0, 0, 0, "SSH-2.0-", 7000);
	/* Flow 4: the server's banner behind another line, in a segment that
	 * came before the client's made the flow SSH. */
	seg(d, &k4, 1, 0, 0, "hello\r\nSSH-2.0-s\r\n", 8000);
	seg(d, &k4, 0, 0, 0, "SSH-2.0-c\r\n", 9000);
	memset(&fr, 0, sizeof(fr));
	dpi_annotate(d, &k4, &fr);
	CHECK(fr.app_proto == APP_SSH && !fr.sni[0] && !fr.host[0], "annotate: ssh, no sni/host");
	dpi_close(d, o);

	has("{\"type\":\"ssh\",\"flow_id\":1001,\"ts\":\"1970-01-01T00:00:00.000002Z\","
	    "\"client\":{\"proto\":\"2.0\",\"software\":\"PuTTY_Release_0.78\",\"comments\":null},"
	    "\"server\":{\"proto\":\"2.0\",\"software\":\"OpenSSH_8.9p1\",\"comments\":\"Ubuntu-3\"}}\n",
	    "both banners, server first");
	has("{\"type\":\"ssh\",\"flow_id\":1002,\"ts\":\"1970-01-01T00:00:00.000004Z\","
	    "\"client\":{\"proto\":\"2.0\",\"software\":\"Go\",\"comments\":null},\"server\":null}\n",
	    "server not SSH");
	has("{\"type\":\"ssh\",\"flow_id\":1003,\"ts\":\"1970-01-01T00:00:00.000006Z\","
	    "\"client\":null,\"server\":{\"proto\":\"1.99\",\"software\":\"Cisco-1.25\",\"comments\":null}}\n",
	    "client banner cut by the flow end");
	has("{\"type\":\"ssh\",\"flow_id\":1004,\"ts\":\"1970-01-01T00:00:00.000009Z\","
	    "\"client\":{\"proto\":\"2.0\",\"software\":\"c\",\"comments\":null},"
	    "\"server\":{\"proto\":\"2.0\",\"software\":\"s\",\"comments\":null}}\n",
	    "other line first, before classification");
	CHECK_EQ(strstr(lines, "\"type\":\"ssh\"") ? 4 : 0, 4, "records written");
}

int main(void)
{
	test_real();
	test_following_bytes();
	test_prelines();
	test_limits();
	test_bad();
	test_dpi();
	return check_summary("ssh");
}
