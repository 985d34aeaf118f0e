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
 * Flags: --batch prints hops as packed batches (see flush_batch), --discard counts without printing.
 * Each command answers {"type":"ack","id":"<id>","ok":true|false,...}. EOF on stdin ends the loader. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
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
static void print_str(const char *key, const char *s, size_t max)
{
	printf(",\"%s\":\"", key);
	for (size_t i = 0; i < max && s[i]; i++) {
		unsigned char c = s[i];
		if (c < 0x20 || c == '"' || c == '\\')
			printf("\\u%04x", c);
		else
			putchar_unlocked(c);
	}
	putchar_unlocked('"');
}

/* --batch: hops leave as one record per ring-buffer drain,
 *   {"type":"hops","n":N,"data":"<base64 of N struct pj_event>","loc":[[i,"sym+0x1f"],...]}
 * The events go out as the kernel wrote them: the ready record declares their size and each field's
 * offset and width (print_layout), and the server decodes by that declaration. Formatting numbers as
 * JSON cost the loader ~0.7 us and the server ~1.6 us per hop; this is a memcpy and a base64 pass.
 * `loc` names the freeing site of the few events that carry one (kernel symbols need no escaping). */
#define BATCH_MAX 4096
static bool batch_mode;
static struct pj_event *batch;
static int batch_n;

/* Base64 by 12-bit halves of each 3-byte group: one table load per two output characters. */
static char b64_pairs[4096][2];

static void b64_init(void)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (int i = 0; i < 4096; i++) {
		b64_pairs[i][0] = abc[i >> 6];
		b64_pairs[i][1] = abc[i & 63];
	}
}

static void put_base64(const uint8_t *p, size_t n)
{
	char out[8192];
	size_t o = 0, i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		memcpy(out + o, b64_pairs[v >> 12], 2);
		memcpy(out + o + 2, b64_pairs[v & 4095], 2);
		o += 4;
		if (o == sizeof(out)) {
			fwrite_unlocked(out, 1, o, stdout);
			o = 0;
		}
	}
	if (i < n) { /* one or two bytes left: pad */
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
		memcpy(out + o, b64_pairs[v >> 12], 2);
		out[o + 2] = i + 1 < n ? b64_pairs[v & 4095][0] : '=';
		out[o + 3] = '=';
		o += 4;
	}
	fwrite_unlocked(out, 1, o, stdout);
}

static void flush_batch(void)
{
	if (!batch_n)
		return;
	printf("{\"type\":\"hops\",\"n\":%d,\"data\":\"", batch_n);
	put_base64((const uint8_t *)batch, (size_t)batch_n * sizeof(*batch));
	putchar_unlocked('"');
	bool any = false;
	for (int i = 0; i < batch_n; i++) {
		const struct ksym *k = batch[i].location ? ksym_find(batch[i].location) : NULL;
		if (!k)
			continue;
		printf("%s[%d,\"%s+0x%llx\"]", any ? "," : ",\"loc\":[", i, k->name,
		       (unsigned long long)(batch[i].location - k->addr));
		any = true;
	}
	fputs(any ? "]}\n" : "}\n", stdout);
	batch_n = 0;
}

/* The ready record's description of struct pj_event: {"size":S,"fields":{"name":[offset,width],...}}. */
static void print_layout(void)
{
	bool first = true;
#define FIELD(f)                                                                                             \
	printf("%s\"" #f "\":[%zu,%zu]", first ? "" : ",", offsetof(struct pj_event, f),                          \
	       sizeof(((struct pj_event *)0)->f));                                                               \
	first = false
	printf(",\"layout\":{\"size\":%zu,\"endian\":\"%s\",\"fields\":{", sizeof(struct pj_event),
	       __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? "little" : "big");
	FIELD(ts_ns);
	FIELD(skb);
	FIELD(netns);
	FIELD(ifindex);
	FIELD(mask);
	FIELD(reason);
	FIELD(saddr);
	FIELD(daddr);
	FIELD(sport);
	FIELD(dport);
	FIELD(ip_id);
	FIELD(tot_len);
	FIELD(icmp_id);
	FIELD(icmp_seq);
	FIELD(hook);
	FIELD(dir);
	FIELD(proto);
	FIELD(ttl);
	FIELD(ip_opts);
	FIELD(tcp_flags);
	FIELD(icmp_type);
	FIELD(icmp_code);
	FIELD(nf_hook);
	FIELD(has_ip);
	FIELD(cpu);
	FIELD(smac);
	FIELD(dmac);
	FIELD(ifname);
#undef FIELD
	fputs("}}", stdout);
	/* Each netfilter program's priority per hook, as [event hook code, NF_INET_* hook, priority]. */
	fputs(",\"nf_prios\":[", stdout);
	for (size_t i = 0; i < NF_NSLOTS; i++) {
		int code = nf_slots[i].prog == NF_PROG_NAT ? PJ_HOOK_NF_NAT
			   : nf_slots[i].prog == NF_PROG_PRE ? PJ_HOOK_NF_PRE_FILTER
							     : PJ_HOOK_NF_POST_FILTER;
		printf("%s[%d,%d,%d]", i ? "," : "", code, nf_slots[i].hook, nf_slots[i].prio);
	}
	putchar_unlocked(']');
}

/* Set before load. One ring per CPU (journey.bpf.c): ~64 MB in all, each a power of two between 4 and
 * 32 MB. */
static int ring_cpus;
static uint32_t ring_bytes;

static void configure(struct journey_bpf *s)
{
	ring_cpus = libbpf_num_possible_cpus();
	if (ring_cpus <= 0)
		ring_cpus = 1;
	ring_bytes = 32u << 20;
	while (ring_bytes > (4u << 20) && (uint64_t)ring_bytes * ring_cpus > (64u << 20))
		ring_bytes >>= 1;
	bpf_map__set_max_entries(s->maps.rings, ring_cpus);
	/* The inner template keeps its size: the kernel does not compare ring sizes across map-in-map
	 * (and libbpf 1.1 crashes resizing an inner template). */
	s->rodata->wake_bytes = ring_bytes / 4;
	/* The probe's "tracked lately" window is counted in jiffies: a coarse clock's resolution is one. */
	struct timespec tick;
	uint64_t tick_ns = 0;
	if (clock_getres(CLOCK_MONOTONIC_COARSE, &tick) == 0)
		tick_ns = (uint64_t)tick.tv_sec * 1000000000ull + tick.tv_nsec;
	if (tick_ns >= 1000000 && tick_ns <= 10000000) {
		s->rodata->track_window = 2000000000ull / tick_ns;
		s->rodata->track_refresh = 100000000ull / tick_ns;
	}
}

static int on_event(void *ctx, void *data, size_t len);

static struct ring_buffer *open_rings(struct journey_bpf *s)
{
	struct ring_buffer *rb = NULL;
	for (int cpu = 0; cpu < ring_cpus; cpu++) {
		int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "pj_ring", 0, 0, ring_bytes, NULL);
		if (fd < 0 || bpf_map_update_elem(bpf_map__fd(s->maps.rings), &cpu, &fd, BPF_ANY))
			goto fail;
		int err = rb ? ring_buffer__add(rb, fd, on_event, NULL) : 0;
		if (!rb)
			rb = ring_buffer__new(fd, on_event, NULL, NULL);
		if (!rb || err) /* fds stay open for the loader's life: libbpf polls and maps them */
			goto fail;
	}
	return rb;
fail:
	ring_buffer__free(rb);
	return NULL;
}

/* --discard: consume the ring buffer without printing hops, to measure kernel -> loader throughput. */
static bool discard;
#define DRAIN_MS 2
static unsigned long long consumed;

/* Events from the per-CPU rings, put back in time order before they are printed: a packet's hops on
 * two CPUs would otherwise arrive ring by ring, its end before its middle. Each drain prints what is
 * older than HOLD_NS before the drain began and keeps the rest for the next one, so an event still
 * being written on another CPU cannot be overtaken. */
#define HOLD_NS 1000000ull
#define PEND_MAX (1u << 17)
struct pend_key {
	uint64_t ts;
	uint32_t idx;
};
static struct pj_event *pend, *pend_tmp;
static struct pend_key *pend_keys;
static size_t pend_n, pend_cap;

static void print_hop(const struct pj_event *e);
static void emit_until(uint64_t cutoff);

static int on_event(void *ctx, void *data, size_t len)
{
	(void)ctx;
	consumed++;
	if (discard || len < sizeof(struct pj_event))
		return 0;
	if (pend_n == pend_cap) {
		size_t cap = pend_cap ? pend_cap * 2 : 4096;
		struct pj_event *p = cap <= PEND_MAX ? realloc(pend, cap * sizeof(*p)) : NULL;
		struct pj_event *t = p ? realloc(pend_tmp, cap * sizeof(*t)) : NULL;
		struct pend_key *k = t ? realloc(pend_keys, cap * sizeof(*k)) : NULL;
		if (p)
			pend = p;
		if (t)
			pend_tmp = t;
		if (k) {
			pend_keys = k;
			pend_cap = cap;
		} else {
			emit_until(UINT64_MAX); /* at the cap (or out of memory): order what we have */
		}
		if (pend_n == pend_cap)
			return 0; /* nothing allocated at all */
	}
	memcpy(&pend[pend_n++], data, sizeof(struct pj_event));
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	const struct pend_key *x = a, *y = b;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void emit_until(uint64_t cutoff)
{
	if (!pend_n)
		return;
	for (size_t i = 0; i < pend_n; i++)
		pend_keys[i] = (struct pend_key){ pend[i].ts_ns, (uint32_t)i };
	qsort(pend_keys, pend_n, sizeof(*pend_keys), key_cmp);
	size_t i = 0;
	for (; i < pend_n && pend_keys[i].ts < cutoff; i++) {
		const struct pj_event *e = &pend[pend_keys[i].idx];
		if (!batch_mode) {
			print_hop(e);
			continue;
		}
		batch[batch_n++] = *e;
		if (batch_n == BATCH_MAX)
			flush_batch();
	}
	flush_batch();
	/* The held-back rest, in order, to the front. */
	size_t kept = 0;
	for (; i < pend_n; i++)
		pend_tmp[kept++] = pend[pend_keys[i].idx];
	struct pj_event *swap = pend;
	pend = pend_tmp;
	pend_tmp = swap;
	pend_n = kept;
}

static void print_hop(const struct pj_event *e)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
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

/* The probe counts per CPU (journey.bpf.c): sum them. */
static void read_counters(unsigned long long *emitted, unsigned long long *lost)
{
	static struct pj_counters *per_cpu;
	static int ncpu;
	*emitted = *lost = 0;
	if (!per_cpu) {
		ncpu = libbpf_num_possible_cpus();
		if (ncpu <= 0 || !(per_cpu = calloc(ncpu, sizeof(*per_cpu))))
			return;
	}
	uint32_t zero = 0;
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.counters), &zero, per_cpu))
		return;
	for (int i = 0; i < ncpu; i++) {
		*emitted += per_cpu[i].emitted;
		*lost += per_cpu[i].lost;
	}
}

static void print_stats(const char *type, const char *id)
{
	unsigned long long emitted, lost;
	read_counters(&emitted, &lost);
	printf("{\"type\":\"%s\"", type);
	if (id)
		printf(",\"id\":\"%s\",\"ok\":true", id);
	printf(",\"emitted\":%llu,\"lost\":%llu,\"consumed\":%llu,\"nf_netns\":%d}\n", emitted, lost, consumed,
	       nf_ns_count);
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
		emit_until(UINT64_MAX);
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
	b64_init();
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
	configure(skel);
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
		configure(skel);
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
	struct ring_buffer *rb = open_rings(skel);
	if (!rb) {
		fprintf(stderr, "ring buffer failed: %s\n", strerror(errno));
		return 1;
	}
	load_drop_reasons();
	struct stat st;
	fstat(self_ns_fd, &st);
	printf("{\"type\":\"ready\",\"pid\":%d,\"attach_ms\":%.1f,\"max_filters\":%d,\"netfilter\":%s,\"drop_reasons\":%d,\"host_netns\":%lu,"
	       "\"hooks\":[\"net_dev_queue\",\"netif_receive_skb\",\"netif_rx\",\"napi_gro_receive_entry\",\"kfree_skb\",\"consume_skb\"]",
	       getpid(), (now_ns() - t0) / 1e6, PJ_MAX_FILTERS, nf_supported ? "true" : "false", reason_count,
	       (unsigned long)st.st_ino);
	print_layout();
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
		/* The probe does not wake us per event (journey.bpf.c): drain on a short tick while anything is
		 * traced, which bounds a follow's added latency to DRAIN_MS. */
		int n = poll(pfd, 2, skel->bss->active_mask || pend_n ? DRAIN_MS : 200);
		if (n < 0 && errno != EINTR)
			break;
		uint64_t began = now_ns();
		if (ring_buffer__consume(rb) > 0 || pend_n) {
			emit_until(began - HOLD_NS);
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
			unsigned long long emitted, lost;
			read_counters(&emitted, &lost);
			if (emitted != last_emitted || lost != last_lost) {
				last_emitted = emitted;
				last_lost = lost;
				print_stats("stats", NULL);
			}
		}
	}
	ring_buffer__free(rb);
	journey_bpf__destroy(skel);
	return 0;
}
