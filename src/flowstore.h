/* Where flow counters live: the kernel's per-CPU flow map (live and
 * --kernel replay) or a user-space table (offline). The tracker reads both
 * through this interface, so expiry and records do not depend on the path. */
#ifndef XDPI_FLOWSTORE_H
#define XDPI_FLOWSTORE_H

#include "xdpi/abi.h"
#include "flowtab.h"

typedef int (*flowstore_visit_fn)(const struct xdpi_flow_key *k,
				  const struct xdpi_flow_val *v, void *arg);

struct flowstore {
	/* Calls fn with every flow and its merged value. 0 or -errno. */
	int (*scan)(struct flowstore *s, flowstore_visit_fn fn, void *arg);
	/* Removes a flow and returns its final merged value. 0, -ENOENT, -errno. */
	int (*take)(struct flowstore *s, const struct xdpi_flow_key *k,
		    struct xdpi_flow_val *out);
	void (*destroy)(struct flowstore *s);
};

/* Kernel map: map_fd of the LRU per-CPU hash, batch reads of batch keys. */
struct flowstore *flowstore_kernel_new(int map_fd, uint32_t batch);
/* User-space table of struct xdpi_flow_val, owned by the caller. */
struct flowstore *flowstore_user_new(struct flowtab *table);

/* Folds per-CPU copies of a flow into one value. Copies of CPUs that never
 * saw the flow (seen == 0) are skipped. */
void flow_val_merge(struct xdpi_flow_val *out, const void *percpu, int ncpus,
		    size_t stride);

#endif
