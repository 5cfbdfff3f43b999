#include "pin.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "xdpi.skel.h"

static const char *const pinned[] = {
	"config", "rules4", "rules6", "rules_port", "rules_proto", "rule_hits", "rule_text",
	"counters",
};
#define NPINNED (sizeof(pinned) / sizeof(pinned[0]))

static void pin_path(char *buf, size_t len, const char *ifname, const char *map)
{
	snprintf(buf, len, "%s/%s/%s", PIN_ROOT, ifname, map);
}

void pin_skel_maps(struct xdpi_bpf *skel, struct rule_maps *m)
{
	m->cidr4 = bpf_map__fd(skel->maps.rules4);
	m->cidr6 = bpf_map__fd(skel->maps.rules6);
	m->port = bpf_map__fd(skel->maps.rules_port);
	m->proto = bpf_map__fd(skel->maps.rules_proto);
	m->hits = bpf_map__fd(skel->maps.rule_hits);
	m->text = bpf_map__fd(skel->maps.rule_text);
	m->config = bpf_map__fd(skel->maps.config);
}

void pin_remove(const char *ifname)
{
	char path[256];

	for (size_t i = 0; i < NPINNED; i++) {
		pin_path(path, sizeof(path), ifname, pinned[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/%s", PIN_ROOT, ifname);
	rmdir(path);
	rmdir(PIN_ROOT); /* only if no other instance's pins are in it */
}

/* Whether pid is a running xdpi. A process killed with SIGKILL leaves its
 * pins, and its pid may answer kill(0) for a while as a zombie nobody has
 * reaped, or later as another program that got the number: neither owns
 * the pins any more. */
static int xdpi_running(pid_t pid)
{
	char path[64], buf[512], *open_paren, *close_paren;
	size_t n;
	FILE *f;

	if (kill(pid, 0) && errno != EPERM)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 1; /* no /proc to ask: trust kill() */
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* "pid (comm) state ...": comm may hold spaces and parentheses */
	open_paren = strchr(buf, '(');
	close_paren = strrchr(buf, ')');
	if (!open_paren || !close_paren || close_paren[1] != ' ')
		return 1;
	if (close_paren[2] == 'Z' || close_paren[2] == 'X')
		return 0;
	return !strncmp(open_paren + 1, "xdpi)", 5);
}

/* The pid of the instance that owns ifname's pins, if it still runs; else 0. */
static pid_t live_owner(const char *ifname)
{
	struct xdpi_config_map pol;
	char path[256];
	pid_t pid = 0;
	int fd;

	pin_path(path, sizeof(path), ifname, "config");
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (!policy_get(fd, &pol) && pol.owner_pid && (pid_t)pol.owner_pid != getpid() &&
	    xdpi_running((pid_t)pol.owner_pid))
		pid = (pid_t)pol.owner_pid;
	close(fd);
	return pid;
}

static struct bpf_map *skel_map(struct xdpi_bpf *skel, const char *name)
{
	return bpf_object__find_map_by_name(skel->obj, name);
}

#define BPF_FS_MAGIC_NUMBER 0xcafe4a11

int pin_available(void)
{
	struct statfs st;

	return !statfs("/sys/fs/bpf", &st) && (unsigned long)st.f_type == BPF_FS_MAGIC_NUMBER;
}

int pin_maps(struct xdpi_bpf *skel, const char *ifname)
{
	struct xdpi_config_map pol;
	char path[256];
	pid_t owner = live_owner(ifname);
	int cfg_fd = bpf_map__fd(skel->maps.config);

	if (owner) {
		fprintf(stderr, "xdpi: xdpi (pid %d) already runs on %s: its maps are pinned "
			"under %s/%s\n", (int)owner, ifname, PIN_ROOT, ifname);
		return -1;
	}
	pin_remove(ifname); /* pins of an instance that did not end cleanly */
	if ((mkdir(PIN_ROOT, 0700) && errno != EEXIST) ||
	    (snprintf(path, sizeof(path), "%s/%s", PIN_ROOT, ifname), mkdir(path, 0700))) {
		fprintf(stderr, "xdpi: cannot create %s: %s (is bpffs mounted on /sys/fs/bpf?)\n",
			path, strerror(errno));
		return -1;
	}
	if (policy_get(cfg_fd, &pol))
		memset(&pol, 0, sizeof(pol));
	pol.owner_pid = (uint32_t)getpid();
	if (policy_set(cfg_fd, &pol))
		goto fail;
	for (size_t i = 0; i < NPINNED; i++) {
		struct bpf_map *m = skel_map(skel, pinned[i]);
		int err;

		pin_path(path, sizeof(path), ifname, pinned[i]);
		err = m ? bpf_map__pin(m, path) : -ENOENT;
		if (err) {
			char msg[128];

			libbpf_strerror(err, msg, sizeof(msg));
			fprintf(stderr, "xdpi: cannot pin %s: %s\n", path, msg);
			goto fail;
		}
	}
	return 0;
fail:
	pin_remove(ifname);
	return -1;
}

static int open_one(const char *ifname, const char *map, char *err, size_t errlen)
{
	char path[256];
	int fd;

	pin_path(path, sizeof(path), ifname, map);
	fd = bpf_obj_get(path);
	if (fd < 0)
		snprintf(err, errlen, "%s: %s%s", path, strerror(errno),
			 errno == ENOENT ? " (is `xdpi run` running on this interface?)" : "");
	return fd;
}

int pin_open(const char *ifname, struct rule_maps *m, int *counters_fd, char *err, size_t errlen)
{
	int *fds[] = { &m->config, &m->cidr4, &m->cidr6, &m->port, &m->proto, &m->hits, &m->text };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		*fds[i] = -1;
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		*fds[i] = open_one(ifname, pinned[i], err, errlen);
		if (*fds[i] < 0)
			goto fail;
	}
	if (counters_fd) {
		*counters_fd = open_one(ifname, "counters", err, errlen);
		if (*counters_fd < 0)
			goto fail;
	}
	return 0;
fail:
	pin_close(m);
	return -1;
}

void pin_close(struct rule_maps *m)
{
	int *fds[] = { &m->config, &m->cidr4, &m->cidr6, &m->port, &m->proto, &m->hits, &m->text };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}
