/* The maps a running instance shares with `xdpi rules` and `xdpi sample`,
 * pinned under /sys/fs/bpf/xdpi/<ifname>/ while it runs. */
#ifndef XDPI_PIN_H
#define XDPI_PIN_H

#include "rules.h"

#define PIN_ROOT "/sys/fs/bpf/xdpi"

struct xdpi_bpf;

/* Whether /sys/fs/bpf is a BPF filesystem here (it is not, for one, in
 * the private mounts `ip netns exec` makes). */
int pin_available(void);
/* The rule maps of a loaded program. */
void pin_skel_maps(struct xdpi_bpf *skel, struct rule_maps *m);
/* Pins the shared maps for ifname and records this process as their owner.
 * Pins left by an instance that is gone are replaced; those of one still
 * running make this fail. 0, or -1 after printing why. */
int pin_maps(struct xdpi_bpf *skel, const char *ifname);
void pin_remove(const char *ifname);
/* Opens the maps of the instance running on ifname; counters_fd may be
 * NULL. 0, or -1 with the reason in err. */
int pin_open(const char *ifname, struct rule_maps *m, int *counters_fd, char *err,
	     size_t errlen);
void pin_close(struct rule_maps *m);

#endif
