/* Capture files (pcap and pcapng, through libpcap) as a stream of frames
 * that all start with an Ethernet header: other link types get a synthetic
 * one, so the one parser sees every capture the same way. */
#ifndef XDPI_PCAP_SOURCE_H
#define XDPI_PCAP_SOURCE_H

#include <stddef.h>
#include <stdint.h>

struct pcap_source;

struct frame {
	const uint8_t *data;  /* Ethernet frame */
	uint32_t caplen;      /* bytes present */
	uint32_t cut;         /* bytes the snap length removed */
	uint64_t ts_ns;       /* capture time, epoch ns */
	int stable;           /* data stays valid until pcap_source_close */
};

/* NULL with a one-line message in err on failure. */
struct pcap_source *pcap_source_open(const char *path, char *err, size_t errlen);
/* 1: a frame; 0: end of file; -1: corrupt file (message in err). Frames
 * whose link header cannot be turned into Ethernet are counted, skipped. */
int pcap_source_next(struct pcap_source *s, struct frame *f, char *err, size_t errlen);
uint64_t pcap_source_skipped(const struct pcap_source *s);
/* Frames --filter did not match: neither handed out nor counted skipped. */
uint64_t pcap_source_filtered(const struct pcap_source *s);
struct filter;
/* Hands out only frames f matches (f stays the caller's). unseen_only
 * (read --kernel, where the kernel program filters): match only frames
 * the kernel will not see, those skipped or shorter than an Ethernet
 * header. */
void pcap_source_set_filter(struct pcap_source *s, const struct filter *f, int unseen_only);
uint64_t pcap_source_frames(const struct pcap_source *s);
const char *pcap_source_linktype(const struct pcap_source *s);
void pcap_source_close(struct pcap_source *s);

#endif
