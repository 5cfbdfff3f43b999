/* The one record type that reaches the sinks. Flow records now; later
 * record types extend the union. */
#ifndef XDPI_RECORD_H
#define XDPI_RECORD_H

#include <stdint.h>
#include "xdpi/abi.h"

enum end_reason {
	END_IDLE = 0,
	END_ACTIVE,
	END_FIN,
	END_RST,
	END_SHUTDOWN, /* "end": capture finished or the daemon stopped */
};

const char *end_reason_name(enum end_reason r);

struct flow_record {
	uint64_t flow_id;
	uint8_t  src_ip[16];
	uint8_t  dst_ip[16];
	uint16_t src_port;
	uint16_t dst_port;
	uint16_t vlan;          /* XDPI_VLAN_NONE: no tag */
	uint8_t  proto;
	uint8_t  family;
	uint8_t  tcp_flags_fwd;
	uint8_t  tcp_flags_rev;
	uint8_t  has_icmp;
	uint8_t  icmp_type;
	uint8_t  icmp_code;
	uint64_t pkts_fwd, pkts_rev;
	uint64_t bytes_fwd, bytes_rev;
	uint64_t start_ns;      /* epoch */
	uint64_t end_ns;
	enum end_reason end_reason;
	const char *ifname;
};

#endif
