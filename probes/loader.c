// SPDX-License-Identifier: GPL-2.0
/* packet-journey loader: attaches journey.bpf.c, prints one {"type":"ready"} record, then one NDJSON
 * line per hop event (snake_case). Commands arrive on stdin, one per line, so a single loader serves
 * every follower:
 *   <id> filter <slot> [proto=N] [addr_a=IP] [addr_b=IP] [port=N] [icmp_id=N] [netns=INO,INO...]
 *   <id> clear <slot>
 *   <id> nf_attach <netns path>      netfilter links in that namespace (idempotent per inode)
 *   <id> nf_detach <inode>
 *   <id> stats
 *   <id> sync                        answered after every event produced so far is printed
 * Flags: --batch prints hops as columnar batches (see flush_batch), --discard counts without printing.
 * Each command answers {"type":"ack","id":"<id>","ok":true|false,...}. EOF on stdin ends the loader. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "event.h"
#include "journey.skel.h"

/* Debian's uapi headers predate netfilter BPF links (kernel 6.4). */
#define PJ_PROG_TYPE_NETFILTER 32
#define PJ_ATTACH_NETFILTER 45
#define PJ_NFPROTO_IPV4 2

static struct journey_bpf *skel;
static volatile sig_atomic_t stop;

static const char *hook_names[] = {
	[PJ_HOOK_DEV_QUEUE] = "net_dev_queue",  [PJ_HOOK_RECEIVE_SKB] = "netif_receive_skb",
	[PJ_HOOK_NETIF_RX] = "netif_rx",        [PJ_HOOK_GRO] = "napi_gro_receive_entry",
	[PJ_HOOK_KFREE] = "kfree_skb",          [PJ_HOOK_CONSUME] = "consume_skb",
	[PJ_HOOK_NF_NAT] = "nf_nat",            [PJ_HOOK_NF_PRE_FILTER] = "nf_pre_filter",
	[PJ_HOOK_NF_POST_FILTER] = "nf_post_filter",
};
static const char *nf_hook_names[] = { "PRE_ROUTING", "LOCAL_IN", "FORWARD", "LOCAL_OUT", "POST_ROUTING" };

/* Where the netfilter programs sit: after DNAT (-100) / SNAT (100), and around filter (0). */
struct nf_slot { int hook; int prio; int prog; };
enum { NF_PROG_NAT, NF_PROG_PRE, NF_PROG_POST };
static const struct nf_slot nf_slots[] = {
	{ 0, -99, NF_PROG_NAT },  { 3, -99, NF_PROG_NAT },  { 4, 101, NF_PROG_NAT },
	{ 1, -1, NF_PROG_PRE },   { 1, 1, NF_PROG_POST },
	{ 2, -1, NF_PROG_PRE },   { 2, 1, NF_PROG_POST },
	{ 3, -1, NF_PROG_PRE },   { 3, 1, NF_PROG_POST },
};
#define NF_NSLOTS (sizeof(nf_slots) / sizeof(nf_slots[0]))
static int nf_prio_of(int prog_hook, int nf_hook)
{
	int prog = prog_hook == PJ_HOOK_NF_NAT ? NF_PROG_NAT : prog_hook == PJ_HOOK_NF_PRE_FILTER ? NF_PROG_PRE : NF_PROG_POST;
	for (size_t i = 0; i < NF_NSLOTS; i++)
		if (nf_slots[i].hook == nf_hook && nf_slots[i].prog == prog)
			return nf_slots[i].prio;
	return 0;
}

#define MAX_NF_NS 256
struct nf_ns { uint32_t inode; int fds[NF_NSLOTS]; };
static struct nf_ns nf_ns[MAX_NF_NS];
static int nf_ns_count;
static bool nf_supported = true;

/* enum skb_drop_reason names from the running kernel's BTF: the numbers change between kernels. */
#define MAX_REASONS 1024
static const char *reason_names[MAX_REASONS];
static int reason_count;

static void load_drop_reasons(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	if (!btf)
		return;
	int id = btf__find_by_name_kind(btf, "skb_drop_reason", BTF_KIND_ENUM);
	if (id < 0)
		return;
	const struct btf_type *t = btf__type_by_id(btf, id);
	const struct btf_enum *m = btf_enum(t);
	for (int i = 0; i < btf_vlen(t); i++, m++) {
		const char *n = btf__name_by_offset(btf, m->name_off);
		if (m->val < 0 || m->val >= MAX_REASONS || !n)
			continue;
		if (!strncmp(n, "SKB_DROP_REASON_", 16))
			n += 16;
		else if (!strncmp(n, "SKB_", 4))
			n += 4;
		reason_names[m->val] = strdup(n);
		reason_count++;
	}
	/* btf is kept: the names point into our strdup copies, but freeing is not worth the code. */
}

/* /proc/kallsyms, loaded on the first event that needs a symbol (after "ready", so attach stays fast). */
struct ksym { uint64_t addr; char *name; };
static struct ksym *ksyms;
static size_t nksyms;
static bool ksyms_loaded;

static int ksym_cmp(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static pthread_t ksym_thread;
static bool ksym_thread_started;

static void load_ksyms(void)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	if (!f)
		return;
	size_t cap = 0;
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		unsigned long long addr;
		char type, name[256];
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3 || !addr)
			continue;
		if (type != 't' && type != 'T')
			continue;
		if (nksyms == cap) {
			cap = cap ? cap * 2 : 65536;
			ksyms = realloc(ksyms, cap * sizeof(*ksyms));
			if (!ksyms)
				exit(1);
		}
		ksyms[nksyms].addr = addr;
		ksyms[nksyms].name = strdup(name);
		nksyms++;
	}
	fclose(f);
	qsort(ksyms, nksyms, sizeof(*ksyms), ksym_cmp);
}

/* Reading /proc/kallsyms takes ~200 ms, so it happens in a thread started after "ready". */
static void *ksym_loader(void *arg)
{
	(void)arg;
	load_ksyms();
	return NULL;
}

static const struct ksym *ksym_find(uint64_t addr)
{
	if (!ksyms_loaded) {
		if (ksym_thread_started)
			pthread_join(ksym_thread, NULL);
		else
			load_ksyms();
		ksyms_loaded = true;
	}
	size_t lo = 0, hi = nksyms;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (ksyms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &ksyms[lo - 1] : NULL;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void print_mac(const char *key, const uint8_t *m)
{
	printf(",\"%s\":\"%02x:%02x:%02x:%02x:%02x:%02x\"", key, m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* Interface names come from the kernel (no quotes or backslashes are allowed in them), but escape
 * anything below 0x20 anyway so a line is always valid JSON. */
static void print_str_raw(const char *s, size_t max)
{
	putchar_unlocked('"');
	for (size_t i = 0; i < max && s[i]; i++) {
		unsigned char c = s[i];
		if (c < 0x20 || c == '"' || c == '\\')
			printf("\\u%04x", c);
		else
			putchar_unlocked(c);
	}
	putchar_unlocked('"');
}

static void print_str(const char *key, const char *s, size_t max)
{
	printf(",\"%s\":", key);
	print_str_raw(s, max);
}

/* --batch: hops leave as one columnar record per ring-buffer drain,
 *   {"type":"hops","n":N,"ts_ns":[...],"skb":[...],...}
 * with the same snake_case names as the per-hop record (absent values are 0 or ""). JSON arrays of
 * scalars parse several times faster than N objects, which is what lets the server keep up. */
#define BATCH_MAX 4096
static bool batch_mode;
static struct pj_event *batch;
static int batch_n;

static void print_str_raw(const char *s, size_t max);

/* printf per number is the loader's bottleneck at a few hundred thousand hops/s; digits by hand. */
static void put_u64(uint64_t v)
{
	char b[24];
	int n = sizeof(b);
	do {
		b[--n] = '0' + v % 10;
		v /= 10;
	} while (v);
	fwrite_unlocked(b + n, 1, sizeof(b) - n, stdout);
}

#define COL_U(name, expr)                                                                                    \
	do {                                                                                                 \
		fputs_unlocked(",\"" name "\":[", stdout);                                                  \
		for (int i = 0; i < batch_n; i++) {                                                           \
			const struct pj_event *e = &batch[i];                                                 \
			if (i)                                                                                \
				putchar_unlocked(',');                                                        \
			put_u64((uint64_t)(expr));                                                            \
		}                                                                                             \
		putchar_unlocked(']');                                                                        \
	} while (0)

static void flush_batch(void)
{
	if (!batch_n)
		return;
	/* Compact scalars: codes index the tables of the ready record, addresses and MACs are integers,
	 * the skb is its low 48 bits (kernel addresses all start with 0xffff). */
	printf("{\"type\":\"hops\",\"n\":%d", batch_n);
	COL_U("ts_ns", e->ts_ns);
	COL_U("skb", e->skb & 0xffffffffffffULL);
	COL_U("hook", e->hook);
	COL_U("dir", e->dir);
	COL_U("netns", e->netns);
	COL_U("ifindex", e->ifindex);
	COL_U("mask", e->mask);
	COL_U("cpu", e->cpu);
	fputs(",\"ifname\":[", stdout);
	for (int i = 0; i < batch_n; i++) {
		if (i)
			putchar(',');
		print_str_raw(batch[i].ifname, PJ_IFNAMSIZ);
	}
	putchar(']');
#define MAC48(m) (((uint64_t)(m)[0] << 40) | ((uint64_t)(m)[1] << 32) | ((uint64_t)(m)[2] << 24) | ((uint64_t)(m)[3] << 16) | ((uint64_t)(m)[4] << 8) | (m)[5])
	COL_U("src_mac", MAC48(e->smac));
	COL_U("dst_mac", MAC48(e->dmac));
	COL_U("has_ip", e->has_ip);
	COL_U("src", ntohl(e->saddr));
	COL_U("dst", ntohl(e->daddr));
	COL_U("proto", e->proto);
	COL_U("ttl", e->ttl);
	COL_U("ip_id", e->ip_id);
	COL_U("tot_len", e->tot_len);
	COL_U("ip_opts", e->ip_opts);
	COL_U("sport", e->sport);
	COL_U("dport", e->dport);
	COL_U("tcp_flags", e->tcp_flags);
	COL_U("icmp_type", e->icmp_type);
	COL_U("icmp_code", e->icmp_code);
	COL_U("icmp_id", e->icmp_id);
	COL_U("icmp_seq", e->icmp_seq);
	COL_U("reason_code", e->hook == PJ_HOOK_KFREE ? e->reason : 0);
	fputs(",\"location\":[", stdout);
	for (int i = 0; i < batch_n; i++) {
		const struct ksym *k = batch[i].location ? ksym_find(batch[i].location) : NULL;
		if (k)
			printf("%s\"%s+0x%llx\"", i ? "," : "", k->name, (unsigned long long)(batch[i].location - k->addr));
		else
			fputs_unlocked(i ? ",\"\"" : "\"\"", stdout);
	}
	putchar(']');
	COL_U("nf_hook", e->hook >= PJ_HOOK_NF_NAT && e->nf_hook < 5 ? e->nf_hook : 255);
	/* nf_prio is signed: offset by 2^31 would be obscure, so the rare negatives are printed with printf. */
	fputs(",\"nf_prio\":[", stdout);
	for (int i = 0; i < batch_n; i++) {
		const struct pj_event *e = &batch[i];
		int prio = e->hook >= PJ_HOOK_NF_NAT && e->nf_hook < 5 ? nf_prio_of(e->hook, e->nf_hook) : 0;
		if (i)
			putchar_unlocked(',');
		if (prio >= 0)
			put_u64(prio);
		else
			printf("%d", prio);
	}
	fputs("]}\n", stdout);
	batch_n = 0;
}

/* --discard: consume the ring buffer without printing hops, to measure kernel -> loader throughput. */
static bool discard;
static unsigned long long consumed;

static int on_event(void *ctx, void *data, size_t len)
{
	const struct pj_event *e = data;
	consumed++;
	if (discard)
		return 0;
	if (batch_mode) {
		if (len >= sizeof(*e))
			batch[batch_n++] = *e;
		if (batch_n == BATCH_MAX)
			flush_batch();
		return 0;
	}
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	(void)ctx;
	if (len < sizeof(*e))
		return 0;
	const char *hook = e->hook < sizeof(hook_names) / sizeof(hook_names[0]) && hook_names[e->hook] ? hook_names[e->hook] : "unknown";
	printf("{\"type\":\"hop\",\"ts_ns\":%llu,\"skb\":\"%llx\",\"hook\":\"%s\",\"dir\":\"%s\",\"netns\":%u,\"ifindex\":%u,\"mask\":%u,\"cpu\":%u",
	       (unsigned long long)e->ts_ns, (unsigned long long)e->skb, hook,
	       e->dir == PJ_DIR_EGRESS ? "egress" : e->dir == PJ_DIR_INGRESS ? "ingress" : "none", e->netns, e->ifindex,
	       e->mask, e->cpu);
	print_str("ifname", e->ifname, PJ_IFNAMSIZ);
	print_mac("src_mac", e->smac);
	print_mac("dst_mac", e->dmac);
	if (e->has_ip) {
		inet_ntop(AF_INET, &e->saddr, a, sizeof(a));
		inet_ntop(AF_INET, &e->daddr, b, sizeof(b));
		printf(",\"src\":\"%s\",\"dst\":\"%s\",\"proto\":%u,\"ttl\":%u,\"ip_id\":%u,\"tot_len\":%u,\"ip_opts\":%s", a, b,
		       e->proto, e->ttl, e->ip_id, e->tot_len, e->ip_opts ? "true" : "false");
		if (e->proto == 6)
			printf(",\"sport\":%u,\"dport\":%u,\"tcp_flags\":%u", e->sport, e->dport, e->tcp_flags);
		else if (e->proto == 17)
			printf(",\"sport\":%u,\"dport\":%u", e->sport, e->dport);
		else if (e->proto == 1)
			printf(",\"icmp_type\":%u,\"icmp_code\":%u,\"icmp_id\":%u,\"icmp_seq\":%u", e->icmp_type, e->icmp_code,
			       e->icmp_id, e->icmp_seq);
	}
	if (e->hook == PJ_HOOK_KFREE) {
		const char *r = e->reason < MAX_REASONS ? reason_names[e->reason] : NULL;
		printf(",\"reason_code\":%u,\"reason\":\"%s\"", e->reason, r ? r : "UNKNOWN");
	}
	if (e->location) {
		const struct ksym *k = ksym_find(e->location);
		if (k)
			printf(",\"location\":\"%s+0x%llx\"", k->name, (unsigned long long)(e->location - k->addr));
	}
	if (e->hook >= PJ_HOOK_NF_NAT && e->nf_hook < 5)
		printf(",\"nf_hook\":\"%s\",\"nf_prio\":%d", nf_hook_names[e->nf_hook], nf_prio_of(e->hook, e->nf_hook));
	fputs("}\n", stdout);
	return 0;
}

static void ack(const char *id, bool ok, const char *fmt, ...)
{
	printf("{\"type\":\"ack\",\"id\":\"%s\",\"ok\":%s", id, ok ? "true" : "false");
	if (fmt) {
		char buf[512];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
		fputs(buf, stdout);
	}
	fputs("}\n", stdout);
	fflush(stdout);
}

/* Userspace copy of netns_allow, so a slot's namespaces can be replaced without iterating the map. */
#define MAX_NS_ALLOW 1024
static uint32_t ns_allow_ino[MAX_NS_ALLOW], ns_allow_mask[MAX_NS_ALLOW];
static int ns_allow_n;

static void ns_allow_set(int slot, const uint32_t *inos, int n)
{
	int map = bpf_map__fd(skel->maps.netns_allow);
	for (int i = 0; i < ns_allow_n; i++)
		ns_allow_mask[i] &= ~(1u << slot);
	for (int j = 0; j < n; j++) {
		int i;
		for (i = 0; i < ns_allow_n && ns_allow_ino[i] != inos[j]; i++)
			;
		if (i == ns_allow_n) {
			if (ns_allow_n == MAX_NS_ALLOW)
				continue;
			ns_allow_ino[ns_allow_n] = inos[j];
			ns_allow_mask[ns_allow_n++] = 0;
		}
		ns_allow_mask[i] |= 1u << slot;
	}
	for (int i = 0; i < ns_allow_n; i++) {
		if (ns_allow_mask[i])
			bpf_map_update_elem(map, &ns_allow_ino[i], &ns_allow_mask[i], BPF_ANY);
		else
			bpf_map_delete_elem(map, &ns_allow_ino[i]);
	}
}

static void recompute_netns_mask(void)
{
	uint32_t m = 0;
	/* bpf_loop runs up to the highest slot in use; a stale larger value only costs iterations. */
	skel->bss->nslots = PJ_MAX_FILTERS;
	for (int i = 0; i < PJ_MAX_FILTERS; i++)
		if (skel->bss->filters[i].use_netns)
			m |= 1u << i;
	skel->bss->netns_mask = m;
}

static void update_nslots(void)
{
	uint32_t a = skel->bss->active_mask, n = 0;
	while (a >> n)
		n++;
	skel->bss->nslots = n;
}

static void cmd_filter(const char *id, char *args)
{
	char *save = NULL, *tok = strtok_r(args, " ", &save);
	char *end;
	long slot = tok ? strtol(tok, &end, 10) : -1;
	if (!tok || *end || slot < 0 || slot >= PJ_MAX_FILTERS) {
		ack(id, false, ",\"error\":\"bad slot\"");
		return;
	}
	struct pj_filter f = {};
	uint32_t inos[64];
	int ninos = 0;
	while ((tok = strtok_r(NULL, " ", &save))) {
		char *eq = strchr(tok, '=');
		if (!eq) {
			ack(id, false, ",\"error\":\"bad token\"");
			return;
		}
		*eq++ = 0;
		struct in_addr ia;
		unsigned long v = strtoul(eq, &end, 10);
		bool num_ok = *eq && !*end;
		if (!strcmp(tok, "proto") && num_ok && v < 256)
			f.proto = v;
		else if (!strcmp(tok, "port") && num_ok && v < 65536)
			f.port = v;
		else if (!strcmp(tok, "icmp_id") && num_ok && v < 65536)
			f.icmp_id = v;
		else if (!strcmp(tok, "addr_a") && inet_pton(AF_INET, eq, &ia) == 1)
			f.addr_a = ia.s_addr;
		else if (!strcmp(tok, "addr_b") && inet_pton(AF_INET, eq, &ia) == 1)
			f.addr_b = ia.s_addr;
		else if (!strcmp(tok, "netns")) {
			f.use_netns = 1;
			char *s2 = NULL;
			for (char *p = strtok_r(eq, ",", &s2); p && ninos < 64; p = strtok_r(NULL, ",", &s2))
				inos[ninos++] = strtoul(p, NULL, 10);
		} else {
			ack(id, false, ",\"error\":\"bad filter field %s\"", tok);
			return;
		}
	}
	/* Off while rewriting, so the BPF side never matches a half-written slot. */
	__atomic_and_fetch(&skel->bss->active_mask, ~(1u << slot), __ATOMIC_SEQ_CST);
	skel->bss->filters[slot] = f;
	ns_allow_set(slot, inos, ninos);
	recompute_netns_mask();
	__atomic_or_fetch(&skel->bss->active_mask, 1u << slot, __ATOMIC_SEQ_CST);
	update_nslots();
	ack(id, true, NULL);
}

static void cmd_clear(const char *id, char *args)
{
	char *end;
	long slot = strtol(args, &end, 10);
	if (!*args || *end || slot < 0 || slot >= PJ_MAX_FILTERS) {
		ack(id, false, ",\"error\":\"bad slot\"");
		return;
	}
	__atomic_and_fetch(&skel->bss->active_mask, ~(1u << slot), __ATOMIC_SEQ_CST);
	memset(&skel->bss->filters[slot], 0, sizeof(struct pj_filter));
	ns_allow_set(slot, NULL, 0);
	recompute_netns_mask();
	update_nslots();
	ack(id, true, NULL);
}

static int nf_link_create(int prog_fd, int hook, int prio)
{
	/* bpf_attr.link_create with the netfilter member (kernel >= 6.4), laid out by hand. */
	struct {
		uint32_t prog_fd, target_fd, attach_type, flags;
		uint32_t pf, hooknum;
		int32_t priority;
		uint32_t nf_flags;
		uint8_t pad[96];
	} attr;
	memset(&attr, 0, sizeof(attr));
	attr.prog_fd = prog_fd;
	attr.attach_type = PJ_ATTACH_NETFILTER;
	attr.pf = PJ_NFPROTO_IPV4;
	attr.hooknum = hook;
	attr.priority = prio;
	return syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
}

static int self_ns_fd = -1;
static struct ring_buffer *sync_rb;

static void cmd_nf_attach(const char *id, char *path)
{
	if (!nf_supported) {
		ack(id, false, ",\"error\":\"netfilter BPF links unsupported\"");
		return;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st)) {
		ack(id, false, ",\"error\":\"open %s: %s\"", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	uint32_t ino = st.st_ino;
	for (int i = 0; i < nf_ns_count; i++)
		if (nf_ns[i].inode == ino) {
			close(fd);
			ack(id, true, ",\"netns\":%u,\"links\":%d", ino, (int)NF_NSLOTS);
			return;
		}
	if (nf_ns_count == MAX_NF_NS || setns(fd, CLONE_NEWNET)) {
		ack(id, false, ",\"error\":\"setns %s: %s\"", path, strerror(errno));
		close(fd);
		return;
	}
	close(fd);
	struct nf_ns *n = &nf_ns[nf_ns_count];
	int progs[3] = { bpf_program__fd(skel->progs.nf_nat), bpf_program__fd(skel->progs.nf_pre_filter),
			 bpf_program__fd(skel->progs.nf_post_filter) };
	int err = 0;
	size_t made = 0;
	for (; made < NF_NSLOTS; made++) {
		int l = nf_link_create(progs[nf_slots[made].prog], nf_slots[made].hook, nf_slots[made].prio);
		if (l < 0) {
			err = errno;
			break;
		}
		n->fds[made] = l;
	}
	setns(self_ns_fd, CLONE_NEWNET);
	if (err) {
		for (size_t i = 0; i < made; i++)
			close(n->fds[i]);
		ack(id, false, ",\"error\":\"netfilter link: %s\"", strerror(err));
		return;
	}
	n->inode = ino;
	nf_ns_count++;
	ack(id, true, ",\"netns\":%u,\"links\":%d", ino, (int)NF_NSLOTS);
}

static void cmd_nf_detach(const char *id, char *args)
{
	uint32_t ino = strtoul(args, NULL, 10);
	for (int i = 0; i < nf_ns_count; i++)
		if (nf_ns[i].inode == ino) {
			for (size_t j = 0; j < NF_NSLOTS; j++)
				close(nf_ns[i].fds[j]);
			nf_ns[i] = nf_ns[--nf_ns_count];
			ack(id, true, NULL);
			return;
		}
	ack(id, false, ",\"error\":\"not attached\"");
}

static void print_stats(const char *type, const char *id)
{
	printf("{\"type\":\"%s\"", type);
	if (id)
		printf(",\"id\":\"%s\",\"ok\":true", id);
	printf(",\"emitted\":%llu,\"lost\":%llu,\"consumed\":%llu,\"nf_netns\":%d}\n", (unsigned long long)skel->bss->emitted,
	       (unsigned long long)skel->bss->lost, consumed, nf_ns_count);
	fflush(stdout);
}

static void handle_line(char *line)
{
	char *save = NULL;
	char *id = strtok_r(line, " ", &save);
	char *verb = strtok_r(NULL, " ", &save);
	char *rest = save ? save : (char *)"";
	if (!id || !verb)
		return;
	/* ids are echoed into JSON: keep them to a safe alphabet */
	for (char *p = id; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || *p == '-'))
			return;
	if (!strcmp(verb, "filter"))
		cmd_filter(id, rest);
	else if (!strcmp(verb, "clear"))
		cmd_clear(id, rest);
	else if (!strcmp(verb, "nf_attach"))
		cmd_nf_attach(id, rest);
	else if (!strcmp(verb, "nf_detach"))
		cmd_nf_detach(id, rest);
	else if (!strcmp(verb, "sync")) {
		/* A barrier: every event the kernel produced before this command is printed before its ack. */
		ring_buffer__consume(sync_rb);
		flush_batch();
		ack(id, true, NULL);
	} else if (!strcmp(verb, "stats"))
		print_stats("ack", id);
	else
		ack(id, false, ",\"error\":\"unknown command\"");
}

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--discard"))
			discard = true;
		else if (!strcmp(argv[i], "--batch"))
			batch_mode = true;
		else {
			fprintf(stderr, "usage: loader [--batch] [--discard]\n");
			return 2;
		}
	}
	if (batch_mode && !(batch = calloc(BATCH_MAX, sizeof(*batch))))
		return 1;
	uint64_t t0 = now_ns();
	static char outbuf[1 << 20];
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	/* A deeper pipe lets the loader keep draining the ring buffer while the server parses a batch. */
	fcntl(1, F_SETPIPE_SZ, 1 << 20);
	libbpf_set_print(libbpf_log);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, on_signal);

	skel = journey_bpf__open();
	if (!skel) {
		fprintf(stderr, "open BPF object failed\n");
		return 1;
	}
	struct bpf_program *nfp[3] = { skel->progs.nf_nat, skel->progs.nf_pre_filter, skel->progs.nf_post_filter };
	for (int i = 0; i < 3; i++) {
		bpf_program__set_type(nfp[i], (enum bpf_prog_type)PJ_PROG_TYPE_NETFILTER);
		bpf_program__set_expected_attach_type(nfp[i], (enum bpf_attach_type)PJ_ATTACH_NETFILTER);
	}
	if (journey_bpf__load(skel)) {
		/* Older kernel without netfilter programs: trace without them rather than not at all. */
		journey_bpf__destroy(skel);
		skel = journey_bpf__open();
		if (!skel)
			return 1;
		for (int i = 0; i < 3; i++)
			bpf_program__set_autoload(
				i == 0 ? skel->progs.nf_nat : i == 1 ? skel->progs.nf_pre_filter : skel->progs.nf_post_filter, false);
		nf_supported = false;
		if (journey_bpf__load(skel)) {
			fprintf(stderr, "load BPF object failed\n");
			return 1;
		}
	}
	if (journey_bpf__attach(skel)) {
		fprintf(stderr, "attach failed: %s\n", strerror(errno));
		return 1;
	}
	self_ns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_event, NULL, NULL);
	if (!rb) {
		fprintf(stderr, "ring buffer failed\n");
		return 1;
	}
	load_drop_reasons();
	struct stat st;
	fstat(self_ns_fd, &st);
	printf("{\"type\":\"ready\",\"pid\":%d,\"attach_ms\":%.1f,\"max_filters\":%d,\"netfilter\":%s,\"drop_reasons\":%d,\"host_netns\":%lu,"
	       "\"hooks\":[\"net_dev_queue\",\"netif_receive_skb\",\"netif_rx\",\"napi_gro_receive_entry\",\"kfree_skb\",\"consume_skb\"]",
	       getpid(), (now_ns() - t0) / 1e6, PJ_MAX_FILTERS, nf_supported ? "true" : "false", reason_count,
	       (unsigned long)st.st_ino);
	/* Tables the --batch codes index: hook and dir names, NF_INET_* names, drop reasons by value. */
	fputs(",\"hook_names\":[", stdout);
	for (size_t i = 0; i < sizeof(hook_names) / sizeof(hook_names[0]); i++)
		printf("%s\"%s\"", i ? "," : "", hook_names[i] ? hook_names[i] : "");
	fputs("],\"dir_names\":[\"none\",\"egress\",\"ingress\"],\"nf_hook_names\":[", stdout);
	for (int i = 0; i < 5; i++)
		printf("%s\"%s\"", i ? "," : "", nf_hook_names[i]);
	fputs("],\"reason_names\":[", stdout);
	int last = 0;
	for (int i = 0; i < MAX_REASONS; i++)
		if (reason_names[i])
			last = i;
	for (int i = 0; i <= last; i++)
		printf("%s\"%s\"", i ? "," : "", reason_names[i] ? reason_names[i] : "");
	fputs("]}\n", stdout);
	fflush(stdout);
	sync_rb = rb;
	ksym_thread_started = pthread_create(&ksym_thread, NULL, ksym_loader, NULL) == 0;

	char line[4096];
	size_t llen = 0;
	uint64_t last_stats = now_ns();
	unsigned long long last_emitted = 0, last_lost = 0;
	struct pollfd pfd[2] = { { .fd = ring_buffer__epoll_fd(rb), .events = POLLIN }, { .fd = 0, .events = POLLIN } };
	while (!stop) {
		int n = poll(pfd, 2, 200);
		if (n < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN) {
			ring_buffer__consume(rb);
			flush_batch();
			fflush(stdout);
		}
		if (pfd[1].revents & (POLLIN | POLLHUP)) {
			ssize_t r = read(0, line + llen, sizeof(line) - 1 - llen);
			if (r <= 0)
				break; /* the server went away: so do we (and with us every link) */
			llen += r;
			char *nl;
			while ((nl = memchr(line, '\n', llen))) {
				*nl = 0;
				handle_line(line);
				size_t used = nl - line + 1;
				memmove(line, nl + 1, llen - used);
				llen -= used;
			}
			if (llen == sizeof(line) - 1)
				llen = 0; /* an absurd line: drop it */
		}
		uint64_t t = now_ns();
		if (t - last_stats > 1000000000ull) {
			last_stats = t;
			if (skel->bss->emitted != last_emitted || skel->bss->lost != last_lost) {
				last_emitted = skel->bss->emitted;
				last_lost = skel->bss->lost;
				print_stats("stats", NULL);
			}
		}
	}
	ring_buffer__free(rb);
	journey_bpf__destroy(skel);
	return 0;
}
