// SPDX-License-Identifier: GPL-2.0
/* tcx programs (kernel >= 6.6, what Cilium >= 1.15 attaches on such kernels), which bpftool 7.1 (Debian 12)
 * predates: `bpftool net show` lists none of them.
 *   tcx show [NETNS_PATH...]     one JSON line per namespace, in order ("-" or none: this one), shaped
 *                                like `bpftool --json net show`: [{"tc":[{"devname","ifindex","kind":
 *                                "tcx/ingress","name","id"}]}]; [] for a namespace it cannot enter
 *   tcx attach NETNS_PATH IFNAME ingress|egress PROG_PIN LINK_PIN
 *                                links a pinned sched_cls program there and pins the link (removing the
 *                                pin detaches it); prints {"link_id":N}
 * Errors: one line on stderr, exit 1. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>

/* Debian's uapi headers predate tcx (kernel 6.6). */
#define PJ_TCX_INGRESS 46
#define PJ_TCX_EGRESS 47
#define MAX_PROGS 64

static int enter(const char *path)
{
	if (!strcmp(path, "-"))
		return 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = setns(fd, CLONE_NEWNET);
	close(fd);
	return r;
}

/* Device names are kernel-validated (no quotes or backslashes); program names are C identifiers. */
static void show_hook(unsigned ifindex, const char *dev, int type, const char *kind, bool *first)
{
	__u32 ids[MAX_PROGS];
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.query.target_fd = ifindex; /* target_ifindex for tcx, the same field */
	attr.query.attach_type = type;
	attr.query.prog_ids = (__u64)(unsigned long)ids;
	attr.query.prog_cnt = MAX_PROGS;
	if (syscall(__NR_bpf, BPF_PROG_QUERY, &attr, sizeof(attr)))
		return; /* no tcx on this kernel or device: nothing attached there */
	for (__u32 i = 0; i < attr.query.prog_cnt && i < MAX_PROGS; i++) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		memset(&info, 0, sizeof(info));
		int fd = bpf_prog_get_fd_by_id(ids[i]);
		if (fd >= 0) {
			bpf_obj_get_info_by_fd(fd, &info, &len);
			close(fd);
		}
		printf("%s{\"devname\":\"%s\",\"ifindex\":%u,\"kind\":\"%s\",\"name\":\"%s\",\"id\":%u}", *first ? "" : ",",
		       dev, ifindex, kind, info.name, ids[i]);
		*first = false;
	}
}

static int show(int n, char **paths)
{
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	char *own = "-";
	if (n == 0) {
		n = 1;
		paths = &own;
	}
	for (int i = 0; i < n; i++) {
		struct if_nameindex *ifs = enter(paths[i]) ? NULL : if_nameindex();
		if (!ifs) {
			puts("[]");
		} else {
			bool first = true;
			fputs("[{\"tc\":[", stdout);
			for (struct if_nameindex *p = ifs; p->if_index; p++) {
				show_hook(p->if_index, p->if_name, PJ_TCX_INGRESS, "tcx/ingress", &first);
				show_hook(p->if_index, p->if_name, PJ_TCX_EGRESS, "tcx/egress", &first);
			}
			puts("]}]");
			if_freenameindex(ifs);
		}
		if (self >= 0)
			setns(self, CLONE_NEWNET);
	}
	return 0;
}

static int attach(char **a)
{
	const char *ns = a[0], *dev = a[1], *dir = a[2], *prog_pin = a[3], *link_pin = a[4];
	int type = !strcmp(dir, "ingress") ? PJ_TCX_INGRESS : !strcmp(dir, "egress") ? PJ_TCX_EGRESS : -1;
	if (type < 0) {
		fprintf(stderr, "tcx: direction must be ingress or egress, not %s\n", dir);
		return 1;
	}
	int prog = bpf_obj_get(prog_pin);
	if (prog < 0) {
		fprintf(stderr, "tcx: %s: %s\n", prog_pin, strerror(errno));
		return 1;
	}
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (enter(ns)) {
		fprintf(stderr, "tcx: cannot enter %s: %s\n", ns, strerror(errno));
		return 1;
	}
	unsigned ifindex = if_nametoindex(dev);
	if (!ifindex) {
		fprintf(stderr, "tcx: no device %s in %s\n", dev, ns);
		return 1;
	}
	int link = bpf_link_create(prog, ifindex, type, NULL);
	if (link < 0) {
		fprintf(stderr, "tcx: attach to %s %s: %s\n", dev, dir, strerror(errno));
		return 1;
	}
	if (self >= 0)
		setns(self, CLONE_NEWNET); /* the pin path is on the caller's bpffs */
	if (bpf_obj_pin(link, link_pin)) {
		fprintf(stderr, "tcx: pin %s: %s\n", link_pin, strerror(errno));
		return 1;
	}
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	memset(&info, 0, sizeof(info));
	bpf_obj_get_info_by_fd(link, &info, &len);
	printf("{\"link_id\":%u}\n", info.id);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "show"))
		return show(argc - 2, argv + 2);
	if (argc == 7 && !strcmp(argv[1], "attach"))
		return attach(argv + 2);
	fprintf(stderr, "usage: tcx show [NETNS_PATH...] | tcx attach NETNS_PATH IFNAME ingress|egress PROG_PIN LINK_PIN\n");
	return 2;
}
