// SPDX-License-Identifier: GPL-2.0
/* packet-journey loader: attaches journey.bpf.c, prints one {"type":"ready"} record (the event layout
 * and the names its codes index, all from event.h), then one {"type":"hops"} record per ring-buffer
 * drain carrying the events packed (see flush_batch). Commands arrive on stdin, one per line, so a single
 * loader serves every follower:
 *   <id> filter <slot> l2=PROG l3=PROG [proto=N] [addr_a=IP] [addr_b=IP] [port=N] [icmp_id=N] [ipv4=0]
 *                  [netns=INO,INO...] [sock=1] [budget=N/MS]
 *                                    PROG: the slot's cBPF program, 16 hex digits per instruction (code,
 *                                    jt, jf, k), as `tcpdump -ddd` prints it for EN10MB and RAW; empty
 *                                    matches nothing. sock=1: also report a connect() whose first packet
 *                                    goes elsewhere. budget=N/MS: a live view's, at most N new packets
 *                                    per MS (see admit). proto…ipv4: the programs' prefilter, a
 *                                    necessary condition on an IPv4 header checked before they run
 *   <id> clear <slot>
 *   <id> nf_attach <netns path>      netfilter links in that namespace (idempotent per inode)
 *   <id> nf_detach <inode>
 *   <id> stats
 *   <id> sync                        answered after every event produced so far is printed
 *   <id> flows on|off ...            the all-traffic flow view (flows-loader.h)
 * Flags: --discard counts events without printing them (benchmarks); --flow-entries N sizes the flow maps;
 * --no-flows leaves the flow view out (faster attach); --ring-mb N caps each CPU's ring (default 32 MB, 64 MB
 * in all); --no-split-load verifies every program on one thread (split-load.h), to compare.
 * Each command answers {"type":"ack","id":"<id>","ok":true|false,...}; a {"type":"stats"} record follows
 * counter changes (or budget refusals, "skipped") at most once a second. EOF on stdin ends the loader. */
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
#include <sys/epoll.h>
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
#define PJ_NFPROTO_IPV6 10

static struct journey_bpf *skel;
static volatile sig_atomic_t stop;

#define NAME_AT_CODE(constant, code, name) [code] = #name,
static const char *const hook_names[] = { PJ_HOOKS(NAME_AT_CODE) };
static const char *const dir_names[] = { PJ_DIRS(NAME_AT_CODE) };
static const char *const nf_hook_names[] = { PJ_NF_HOOKS(NAME_AT_CODE) };
#undef NAME_AT_CODE
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Where the netfilter programs sit: after DNAT (-100) / SNAT (100), and around filter (0). */
struct nf_slot { enum pj_nf_hook hook; int prio; enum pj_hook prog; };
static const struct nf_slot nf_slots[] = {
	{ PJ_NF_PRE_ROUTING, -99, PJ_HOOK_NF_NAT },    { PJ_NF_LOCAL_OUT, -99, PJ_HOOK_NF_NAT },
	{ PJ_NF_POST_ROUTING, 101, PJ_HOOK_NF_NAT },   { PJ_NF_LOCAL_IN, -1, PJ_HOOK_NF_PRE_FILTER },
	{ PJ_NF_LOCAL_IN, 1, PJ_HOOK_NF_POST_FILTER }, { PJ_NF_FORWARD, -1, PJ_HOOK_NF_PRE_FILTER },
	{ PJ_NF_FORWARD, 1, PJ_HOOK_NF_POST_FILTER },  { PJ_NF_LOCAL_OUT, -1, PJ_HOOK_NF_PRE_FILTER },
	{ PJ_NF_LOCAL_OUT, 1, PJ_HOOK_NF_POST_FILTER },
};
#define NF_NSLOTS COUNT(nf_slots)

/* Each slot is linked for IPv4 and for IPv6 (the same programs: parse() reads either). */
#define NF_NLINKS (2 * NF_NSLOTS)
#define MAX_NF_NS 256
struct nf_ns { uint32_t inode; int fds[NF_NLINKS]; };
static struct nf_ns nf_ns[MAX_NF_NS];
static int nf_ns_count;
static bool nf_supported = true;

/* enum skb_drop_reason names from the running kernel's BTF: the numbers change between kernels. */
#define MAX_REASONS 1024
static const char *reason_names[MAX_REASONS];
static int reason_count;

static void load_drop_reasons(void)
{
	reason_count = 0; /* read again after a split load fell back: the same names */
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

/* Parsed by hand from one buffer, the names left in place: sscanf and a strdup per line took ~55 ms of
 * the ~105 (the kernel's formatting of the file is the rest), on a thread that competes with the
 * verifier's two. */
static void load_ksyms(void)
{
	int fd = open("/proc/kallsyms", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	size_t cap = 8u << 20, len = 0;
	char *buf = malloc(cap + 1);
	for (ssize_t r; buf; len += r) {
		if (len == cap) {
			char *bigger = realloc(buf, (cap *= 2) + 1);
			if (!bigger)
				break;
			buf = bigger;
		}
		if ((r = read(fd, buf + len, cap - len)) <= 0)
			break;
	}
	close(fd);
	if (!buf)
		return;
	buf[len] = 0;
	size_t n = 0, syms_cap = 0;
	/* Each line: "<hex address> <type> <name>[\t[module]]\n" */
	for (char *p = buf, *eol; p < buf + len; p = eol + 1) {
		if (!(eol = strchr(p, '\n')))
			eol = buf + len;
		char *end;
		unsigned long long addr = strtoull(p, &end, 16);
		if (!addr || end + 3 > eol || end[0] != ' ' || (end[1] != 't' && end[1] != 'T') || end[2] != ' ')
			continue;
		char *name = end + 3;
		name[strcspn(name, "\t\n")] = 0;
		if (n == syms_cap) {
			syms_cap = syms_cap ? syms_cap * 2 : 65536;
			struct ksym *more = realloc(ksyms, syms_cap * sizeof(*ksyms));
			if (!more)
				break;
			ksyms = more;
		}
		ksyms[n].addr = addr;
		ksyms[n].name = name;
		n++;
	}
	nksyms = n;
	qsort(ksyms, nksyms, sizeof(*ksyms), ksym_cmp);
	/* buf is kept: the names point into it. */
}

/* Reading /proc/kallsyms takes ~100-200 ms: a thread does it while the verifier runs (main), so a follow
 * started right after "ready" (a cold CLI) does not wait for it at its first drop or consume event. */
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

/* Hops leave as one record per ring-buffer drain,
 *   {"type":"hops","n":N,"data":"<base64 of N struct pj_event>","loc":[[i,"sym+0x1f"],...]}
 * The events go out as the kernel wrote them: the ready record declares their size and each field's
 * offset and width (print_layout), and the server decodes by that declaration. Formatting numbers as
 * JSON cost the loader ~0.7 us and the server ~1.6 us per hop; this is a memcpy and a base64 pass.
 * `loc` names the freeing site of the few events that carry one (kernel symbols need no escaping). */
#define BATCH_MAX 4096
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
		const struct ksym *k =
			batch[i].location && batch[i].hook != PJ_HOOK_SOCK_CONNECT ? ksym_find(batch[i].location) : NULL;
		if (!k)
			continue;
		printf("%s[%d,\"%s+0x%llx\"]", any ? "," : ",\"loc\":[", i, k->name,
		       (unsigned long long)(batch[i].location - k->addr));
		any = true;
	}
	fputs(any ? "]}\n" : "}\n", stdout);
	batch_n = 0;
}

/* The ready record's description of struct pj_event, from PJ_EVENT_FIELDS:
 * "layout":{"size":S,"endian":E,"fields":{"name":[offset,width],...}}. */
static void print_layout(void)
{
	printf(",\"layout\":{\"size\":%zu,\"endian\":\"%s\",\"fields\":{", sizeof(struct pj_event),
	       __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? "little" : "big");
	const char *sep = "";
#define PRINT_FIELD(type, name, dim)                                                                         \
	printf("%s\"" #name "\":[%zu,%zu]", sep, offsetof(struct pj_event, name),                              \
	       sizeof(((struct pj_event *)0)->name));                                                            \
	sep = ",";
	PJ_EVENT_FIELDS(PRINT_FIELD)
#undef PRINT_FIELD
	fputs("}}", stdout);
}

/* A JSON array of names by code ("" where a code has none). */
static void print_names(const char *key, const char *const *names, size_t n)
{
	printf(",\"%s\":[", key);
	for (size_t i = 0; i < n; i++)
		printf("%s\"%s\"", i ? "," : "", names[i] ? names[i] : "");
	putchar_unlocked(']');
}

/* The tables the event's codes index, and each netfilter program's priority per hook as
 * [event hook code, NF_INET_* hook, priority]. */
static void print_code_tables(void)
{
	const char *tracepoints[COUNT(hook_names)];
	size_t ntp = 0;
	for (size_t i = 0; i < PJ_HOOK_FIRST_NF; i++)
		if (hook_names[i])
			tracepoints[ntp++] = hook_names[i];
	print_names("hooks", tracepoints, ntp);
	print_names("hook_names", hook_names, COUNT(hook_names));
	print_names("dir_names", dir_names, COUNT(dir_names));
	print_names("nf_hook_names", nf_hook_names, COUNT(nf_hook_names));
	int last = 0;
	for (int i = 0; i < MAX_REASONS; i++)
		if (reason_names[i])
			last = i;
	print_names("reason_names", reason_names, last + 1);
	fputs(",\"nf_prios\":[", stdout);
	for (size_t i = 0; i < NF_NSLOTS; i++)
		printf("%s[%d,%d,%d]", i ? "," : "", nf_slots[i].prog, nf_slots[i].hook, nf_slots[i].prio);
	putchar_unlocked(']');
}

/* Set before load. One ring per CPU (journey.bpf.c): ~64 MB in all, each a power of two between 4 and
 * 32 MB. */
static int ring_cpus;
static uint32_t ring_bytes;
static uint32_t ring_cap; /* --ring-mb N: a smaller ring per CPU (a CLI follow's: creating 2 x 32 MB took ~40 ms) */

static void configure(struct journey_bpf *s)
{
	ring_cpus = libbpf_num_possible_cpus();
	if (ring_cpus <= 0)
		ring_cpus = 1;
	ring_bytes = 32u << 20;
	while (ring_bytes > (4u << 20) && (uint64_t)ring_bytes * ring_cpus > (64u << 20))
		ring_bytes >>= 1;
	if (ring_cap && ring_bytes > ring_cap)
		ring_bytes = ring_cap;
	bpf_map__set_max_entries(s->maps.rings, ring_cpus);
	/* The inner template keeps its size: the kernel does not compare ring sizes across map-in-map
	 * (and libbpf 1.1 crashes resizing an inner template). */
	s->rodata->wake_bytes = ring_bytes / 4;
	s->rodata->nr_connect = __NR_connect;
	/* Attached on demand (sync_sock_watch): raw_syscalls' sys_enter runs for every syscall. */
	bpf_program__set_autoattach(s->progs.on_sys_enter, false);
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

/* The rings' wake-ups, edge-triggered: libbpf's own epoll set is level-triggered, so once woken it kept
 * reporting a ring readable while anything was in it and serve() drained without its tick. */
static int ring_epfd = -1;

static struct ring_buffer *open_rings(struct journey_bpf *s)
{
	struct ring_buffer *rb = NULL;
	if (ring_epfd < 0)
		ring_epfd = epoll_create1(EPOLL_CLOEXEC);
	for (int cpu = 0; cpu < ring_cpus; cpu++) {
		int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "pj_ring", 0, 0, ring_bytes, NULL);
		if (fd < 0 || bpf_map_update_elem(bpf_map__fd(s->maps.rings), &cpu, &fd, BPF_ANY))
			goto fail;
		struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
		if (ring_epfd < 0 || epoll_ctl(ring_epfd, EPOLL_CTL_ADD, fd, &ev))
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
/* The longest sleep while slots are active and nothing arrives: the probe wakes the loader on its next
 * event (loader_idle), and this bounds the one written as the flag was being set. */
#define IDLE_MS 50
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

/* A live view's budget (filter ... budget=N/MS): at most N new packets per MS of kernel time, by the
 * events' ts_ns, as the view can show no more. Admitting here, on events already in time order, keeps the
 * packets it would drop off the pipe (a flood is ~1M events/s): a packet is admitted or refused whole, at
 * its first event, and keeps that verdict to its end. Follows have no budget and get every event. */
struct slot_budget {
	uint32_t packets;       /* 0: no budget */
	uint64_t window_ns, window_start;
	uint32_t admitted;      /* new packets in the current window */
	unsigned long long skipped; /* refused packets since the last stats record */
};
static struct slot_budget budgets[PJ_MAX_FILTERS];
static uint32_t budget_mask;

/* Packets in flight for the budgeted slots, by skb: open addressing, a bounded probe, no allocation. An
 * entry ends at its skb's free event (kfree/consume: the server's assembler ends a packet there too) or
 * ADMIT_STALE_NS after its last event (its end was lost, the ring was full; skb addresses are reused). */
#define ADMIT_BITS 15
#define ADMIT_PROBE 32
#define ADMIT_STALE_NS 1000000000ull
#define ADMIT_TOMB 1ull /* a freed entry (skb addresses are never odd) */
struct admit_entry { uint64_t skb, ts; uint32_t admitted, refused; };
static struct admit_entry admit_tab[1u << ADMIT_BITS];
static unsigned long long admit_overflow;

static struct admit_entry *admit_find(uint64_t skb, uint64_t ts)
{
	uint32_t h = (uint32_t)((skb * 0x9E3779B97F4A7C15ull) >> (64 - ADMIT_BITS));
	struct admit_entry *free_e = NULL;
	for (uint32_t i = 0; i < ADMIT_PROBE; i++) {
		struct admit_entry *e = &admit_tab[(h + i) & ((1u << ADMIT_BITS) - 1)];
		bool stale = e->skb > ADMIT_TOMB && ts - e->ts > ADMIT_STALE_NS;
		if (e->skb == skb && !stale)
			return e;
		if (!free_e && (e->skb <= ADMIT_TOMB || stale))
			free_e = e;
		if (!e->skb)
			break; /* an insert never passes an empty entry: the key is not further on */
	}
	if (free_e)
		*free_e = (struct admit_entry){ .skb = skb };
	return free_e;
}

/* The event's mask, less the budgeted slots that refuse its packet. */
static uint32_t admit(const struct pj_event *ev)
{
	uint32_t b = ev->mask & budget_mask;
	if (!b)
		return ev->mask;
	uint32_t m = ev->mask;
	struct admit_entry *e = admit_find(ev->skb, ev->ts_ns);
	for (int i = 0; b; i++, b >>= 1) {
		if (!(b & 1))
			continue;
		uint32_t bit = 1u << i;
		struct slot_budget *s = &budgets[i];
		if (!e) {
			/* The table is full (over 32k packets in flight within a second): refuse, and count it
			 * on every event, since nothing remembers the packet. The view loses packets, not memory. */
			admit_overflow++;
			s->skipped++;
			m &= ~bit;
			continue;
		}
		if (e->admitted & bit)
			continue;
		if (!(e->refused & bit)) {
			if (ev->ts_ns - s->window_start >= s->window_ns) {
				s->window_start = ev->ts_ns;
				s->admitted = 0;
			}
			if (s->admitted < s->packets) {
				s->admitted++;
				e->admitted |= bit;
				continue;
			}
			e->refused |= bit;
			s->skipped++; /* once per packet, at its first event */
		}
		m &= ~bit;
	}
	if (e) {
		e->ts = ev->ts_ns;
		if (ev->hook == PJ_HOOK_KFREE || ev->hook == PJ_HOOK_CONSUME)
			e->skb = ADMIT_TOMB; /* the skb is free: its address may carry the next packet */
	}
	return m;
}

/* A slot (re)defined or cleared: its budget and its verdicts start over. */
static void budget_reset(int slot, uint32_t packets, uint64_t window_ns)
{
	budgets[slot] = (struct slot_budget){ .packets = packets, .window_ns = window_ns };
	budget_mask = packets ? budget_mask | (1u << slot) : budget_mask & ~(1u << slot);
	for (size_t i = 0; i < COUNT(admit_tab); i++) {
		admit_tab[i].admitted &= ~(1u << slot);
		admit_tab[i].refused &= ~(1u << slot);
	}
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
		struct pj_event *ev = &pend[pend_keys[i].idx];
		if (!(ev->mask = admit(ev)))
			continue; /* no slot takes it: not printed at all */
		batch[batch_n++] = *ev;
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

/* on_sys_enter's link, present while some slot wants connect() rewrites (filter ... sock=1). */
static struct bpf_link *sys_enter_link;

static bool sync_sock_watch(void)
{
	uint32_t m = 0;
	for (int i = 0; i < PJ_MAX_FILTERS; i++)
		if ((skel->bss->active_mask & (1u << i)) && skel->bss->filters[i].sock)
			m |= 1u << i;
	if (m && !sys_enter_link) {
		sys_enter_link = bpf_program__attach(skel->progs.on_sys_enter);
		if (!sys_enter_link)
			return false;
	}
	skel->bss->sock_mask = m;
	if (!m && sys_enter_link) {
		bpf_link__destroy(sys_enter_link);
		sys_enter_link = NULL;
	}
	return true;
}

static void update_nslots(void)
{
	uint32_t a = skel->bss->active_mask, n = 0, snap = 0;
	while (a >> n)
		n++;
	for (int i = 0; i < PJ_MAX_FILTERS; i++)
		if ((a & (1u << i)) && skel->bss->filters[i].snap > snap)
			snap = skel->bss->filters[i].snap;
	skel->bss->nslots = n;
	skel->bss->snap_len = snap;
}

static void slot_off(int slot)
{
	__atomic_and_fetch(&skel->bss->active_mask, ~(1u << slot), __ATOMIC_SEQ_CST);
	memset(&skel->bss->filters[slot], 0, sizeof(struct pj_filter));
	memset(&skel->bss->progs[slot], 0, sizeof(skel->bss->progs[slot]));
	budget_reset(slot, 0, 0);
	ns_allow_set(slot, NULL, 0);
	recompute_netns_mask();
	update_nslots();
	sync_sock_watch();
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A program in hex (see the header comment); returns false on a malformed one. The server has checked
 * the opcodes; the probe treats any it does not know as "no match" anyway. */
static bool parse_prog(const char *hex, struct pj_prog *p)
{
	size_t n = strlen(hex);
	if (n % 16 || n / 16 > PJ_MAX_INSNS)
		return false;
	p->len = n / 16;
	for (uint32_t i = 0; i < p->len; i++) {
		uint64_t v = 0;
		for (int j = 0; j < 16; j++) {
			int d = hexval(hex[i * 16 + j]);
			if (d < 0)
				return false;
			v = v << 4 | (uint64_t)d;
		}
		p->insns[i] = (struct pj_insn){ .code = v >> 48, .jt = v >> 40, .jf = v >> 32, .k = (uint32_t)v };
	}
	return true;
}

/* The bytes a program may load: up to its farthest fixed offset, or all of PJ_SNAP once an offset
 * depends on the packet (indexed loads). */
static uint32_t prog_snap(const struct pj_prog *p)
{
	uint32_t need = 0;
	for (uint32_t i = 0; i < p->len; i++) {
		uint16_t c = p->insns[i].code;
		uint32_t size = (c & 0x18) == 0 ? 4 : (c & 0x18) == 0x08 ? 2 : 1, end;
		if ((c & 0x07) > 0x01)
			continue; /* not a load */
		if ((c & 0xe0) == 0x40)
			return PJ_SNAP; /* indexed */
		if ((c & 0xe0) == 0x20 || (c & 0xe0) == 0xa0) {
			if ((c & 0xe0) == 0xa0)
				size = 1;
			end = p->insns[i].k > PJ_SNAP ? PJ_SNAP : p->insns[i].k + size;
			if (end > need)
				need = end > PJ_SNAP ? PJ_SNAP : end;
		}
	}
	return need;
}

/* One field of a slot's prefilter (see struct pj_filter); false: not one, or a bad value. */
static bool parse_prefilter(struct pj_filter *f, const char *key, const char *val, bool num_ok, unsigned long v)
{
	struct in_addr ia;
	if (!strcmp(key, "proto") && num_ok && v < 256)
		f->proto = v;
	else if (!strcmp(key, "port") && num_ok && v < 65536)
		f->port = v;
	else if (!strcmp(key, "icmp_id") && num_ok && v < 65536)
		f->icmp_id = v;
	else if (!strcmp(key, "ipv4") && num_ok && v == 0)
		f->no_ipv4 = 1;
	else if (!strcmp(key, "addr_a") && inet_pton(AF_INET, val, &ia) == 1)
		f->addr_a = ia.s_addr;
	else if (!strcmp(key, "addr_b") && inet_pton(AF_INET, val, &ia) == 1)
		f->addr_b = ia.s_addr;
	else
		return false;
	return true;
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
	static struct pj_prog progs[2];
	memset(progs, 0, sizeof(progs));
	uint32_t inos[64];
	int ninos = 0;
	unsigned long bud_n = 0, bud_ms = 0;
	while ((tok = strtok_r(NULL, " ", &save))) {
		char *eq = strchr(tok, '=');
		if (!eq) {
			ack(id, false, ",\"error\":\"bad token\"");
			return;
		}
		*eq++ = 0;
		unsigned long v = strtoul(eq, &end, 10);
		bool num_ok = *eq && !*end;
		if (!strcmp(tok, "l2") || !strcmp(tok, "l3")) {
			if (!parse_prog(eq, &progs[tok[1] == '2' ? PJ_PROG_L2 : PJ_PROG_L3])) {
				ack(id, false, ",\"error\":\"bad %s program (at most %d instructions)\"", tok, PJ_MAX_INSNS);
				return;
			}
		} else if (!strcmp(tok, "sock") && num_ok && v <= 1)
			f.sock = v;
		else if (parse_prefilter(&f, tok, eq, num_ok, v))
			f.pre = 1;
		else if (!strcmp(tok, "budget")) {
			char *slash;
			bud_n = strtoul(eq, &slash, 10);
			bud_ms = *slash == '/' ? strtoul(slash + 1, &end, 10) : 0;
			if (slash == eq || *slash != '/' || *end || !bud_n || !bud_ms || bud_ms > 60000) {
				ack(id, false, ",\"error\":\"bad budget %s\"", eq);
				return;
			}
		} else if (!strcmp(tok, "netns")) {
			f.use_netns = 1;
			char *s2 = NULL;
			for (char *p = strtok_r(eq, ",", &s2); p && ninos < 64; p = strtok_r(NULL, ",", &s2))
				inos[ninos++] = strtoul(p, NULL, 10);
		} else {
			ack(id, false, ",\"error\":\"bad filter field %s\"", tok);
			return;
		}
	}
	uint32_t s2 = prog_snap(&progs[PJ_PROG_L3]);
	f.snap = prog_snap(&progs[PJ_PROG_L2]);
	if (s2 > f.snap)
		f.snap = s2;
	/* Off while rewriting, so the BPF side never matches a half-written slot. */
	__atomic_and_fetch(&skel->bss->active_mask, ~(1u << slot), __ATOMIC_SEQ_CST);
	skel->bss->slot_epoch[slot] = now_ns(); /* skbs traced before now were the previous filter's */
	skel->bss->filters[slot] = f;
	memcpy(&skel->bss->progs[slot], progs, sizeof(progs));
	budget_reset(slot, bud_n, bud_ms * 1000000ull);
	ns_allow_set(slot, inos, ninos);
	recompute_netns_mask();
	__atomic_or_fetch(&skel->bss->active_mask, 1u << slot, __ATOMIC_SEQ_CST);
	update_nslots();
	if (!sync_sock_watch()) {
		int err = errno;
		slot_off(slot); /* a refused filter leaves nothing behind */
		errno = err;
		ack(id, false, ",\"error\":\"attach sys_enter: %s\"", strerror(errno));
		return;
	}
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
	slot_off(slot);
	ack(id, true, NULL);
}

static int nf_link_create(int prog_fd, int pf, int hook, int prio)
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
	attr.pf = pf;
	attr.hooknum = hook;
	attr.priority = prio;
	return syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
}

static int nf_prog_fd(enum pj_hook prog)
{
	struct bpf_program *p = prog == PJ_HOOK_NF_NAT	      ? skel->progs.nf_nat
				: prog == PJ_HOOK_NF_PRE_FILTER ? skel->progs.nf_pre_filter
								: skel->progs.nf_post_filter;
	return bpf_program__fd(p);
}

static int self_ns_fd = -1;
static struct ring_buffer *sync_rb;

/* The IPv6 links of a namespace being attached (the loader is inside it), after its IPv4 ones. Best
 * effort: a kernel or namespace without IPv6 still gets its IPv4 links, and an fd of -1 marks a link
 * not made. */
static void nf_link_ipv6(struct nf_ns *n)
{
	for (size_t i = 0; i < NF_NSLOTS; i++) {
		n->fds[NF_NSLOTS + i] = nf_link_create(nf_prog_fd(nf_slots[i].prog), PJ_NFPROTO_IPV6, nf_slots[i].hook,
						       nf_slots[i].prio);
		if (n->fds[NF_NSLOTS + i] < 0) {
			for (size_t j = 0; j < i; j++) {
				close(n->fds[NF_NSLOTS + j]);
				n->fds[NF_NSLOTS + j] = -1;
			}
			for (size_t j = i; j < NF_NSLOTS; j++)
				n->fds[NF_NSLOTS + j] = -1;
			return;
		}
	}
}

static int nf_ns_links(const struct nf_ns *n)
{
	int k = 0;
	for (size_t i = 0; i < NF_NLINKS; i++)
		k += n->fds[i] >= 0;
	return k;
}

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
			ack(id, true, ",\"netns\":%u,\"links\":%d", ino, nf_ns_links(&nf_ns[i]));
			return;
		}
	if (nf_ns_count == MAX_NF_NS || setns(fd, CLONE_NEWNET)) {
		ack(id, false, ",\"error\":\"setns %s: %s\"", path, strerror(errno));
		close(fd);
		return;
	}
	close(fd);
	struct nf_ns *n = &nf_ns[nf_ns_count];
	int err = 0;
	size_t made = 0;
	for (; made < NF_NSLOTS; made++) {
		int l = nf_link_create(nf_prog_fd(nf_slots[made].prog), PJ_NFPROTO_IPV4, nf_slots[made].hook,
				       nf_slots[made].prio);
		if (l < 0) {
			err = errno;
			break;
		}
		n->fds[made] = l;
	}
	if (!err)
		nf_link_ipv6(n);
	setns(self_ns_fd, CLONE_NEWNET);
	if (err) {
		for (size_t i = 0; i < made; i++)
			close(n->fds[i]);
		ack(id, false, ",\"error\":\"netfilter link: %s\"", strerror(err));
		return;
	}
	n->inode = ino;
	nf_ns_count++;
	ack(id, true, ",\"netns\":%u,\"links\":%d", ino, nf_ns_links(n));
}

static void cmd_nf_detach(const char *id, char *args)
{
	uint32_t ino = strtoul(args, NULL, 10);
	for (int i = 0; i < nf_ns_count; i++)
		if (nf_ns[i].inode == ino) {
			for (size_t j = 0; j < NF_NLINKS; j++)
				if (nf_ns[i].fds[j] >= 0)
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
	printf(",\"emitted\":%llu,\"lost\":%llu,\"consumed\":%llu,\"nf_netns\":%d", emitted, lost, consumed,
	       nf_ns_count);
	/* Packets refused by a slot's budget since the last record, as [slot,count] pairs: the server adds
	 * them to that view's dropped. Deltas, so a reused slot never inherits its last user's count. */
	fputs(",\"skipped\":[", stdout);
	const char *sep = "";
	for (int i = 0; i < PJ_MAX_FILTERS; i++)
		if (budgets[i].skipped) {
			printf("%s[%d,%llu]", sep, i, budgets[i].skipped);
			budgets[i].skipped = 0;
			sep = ",";
		}
	printf("],\"admit_overflow\":%llu}\n", admit_overflow);
	fflush(stdout);
}

#include "flows-loader.h"
#include "split-load.h"

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
	else if (!strcmp(verb, "flows"))
		cmd_flows(id, rest);
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

/* --ring-mb N: a power of two from 1 to 32. */
static bool ring_mb(const char *v)
{
	char *end;
	unsigned long mb = strtoul(v, &end, 10);
	if (*end || mb < 1 || mb > 32 || (mb & (mb - 1)))
		return false;
	ring_cap = mb << 20;
	return true;
}

/* Phase 1: flags, buffers and signals. Returns an exit code, or -1 to go on. */
static int setup_process(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--discard")) {
			discard = true;
		} else if (!strcmp(argv[i], "--no-split-load")) {
			split_off = true;
		} else if (!strcmp(argv[i], "--ring-mb") && i + 1 < argc && ring_mb(argv[i + 1])) {
			i++;
		} else if (!flows_flag(argc, argv, &i)) {
			fprintf(stderr, "usage: loader [--discard] [--flow-entries N] [--no-flows] [--no-split-load] [--ring-mb 1|2|4|...|32]\n");
			return 2;
		}
	}
	if (!(batch = calloc(BATCH_MAX, sizeof(*batch))))
		return 1;
	b64_init();
	static char outbuf[1 << 20];
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	/* A deeper pipe lets the loader keep draining the ring buffer while the server parses a batch. */
	fcntl(1, F_SETPIPE_SZ, 1 << 20);
	libbpf_set_print(libbpf_log);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, on_signal);
	return -1;
}

/* Opens the BPF object with the netfilter programs on or off, sized for this machine. */
static struct journey_bpf *open_object(bool with_netfilter)
{
	struct journey_bpf *s = journey_bpf__open();
	if (!s)
		return NULL;
	struct bpf_program *nfp[3] = { s->progs.nf_nat, s->progs.nf_pre_filter, s->progs.nf_post_filter };
	for (int i = 0; i < 3; i++) {
		if (with_netfilter) {
			bpf_program__set_type(nfp[i], (enum bpf_prog_type)PJ_PROG_TYPE_NETFILTER);
			bpf_program__set_expected_attach_type(nfp[i], (enum bpf_attach_type)PJ_ATTACH_NETFILTER);
		} else {
			bpf_program__set_autoload(nfp[i], false);
		}
	}
	configure(s);
	flows_configure(s);
	return s;
}

/* Work that waits more than it computes, done on a third thread while a split load verifies (in line after
 * a load in one piece): putting each CPU's ring in the rings map waits for an RCU grace period (every
 * map-in-map update does), ~14 ms each. */
static struct ring_buffer *early_rb;
static pthread_t side_thread;
static bool side_started;

static void *side_work(void *arg)
{
	(void)arg;
	early_rb = open_rings(skel);
	load_drop_reasons();
	return NULL;
}

static void start_side_work(void)
{
	side_started = pthread_create(&side_thread, NULL, side_work, NULL) == 0;
}

/* The rings side_work() opened, on its thread or, when none was started, here. */
static struct ring_buffer *join_side_work(void)
{
	if (side_started)
		pthread_join(side_thread, NULL);
	else
		side_work(NULL);
	side_started = false;
	struct ring_buffer *rb = early_rb;
	early_rb = NULL;
	return rb;
}

/* Opens and loads skel, on two threads when it can (split-load.h). 0 on success. */
static int load_object(bool with_netfilter)
{
	skel = open_object(with_netfilter);
	if (!skel)
		return -1;
	if (!split_load(with_netfilter, start_side_work))
		return 0;
	if (side_started)
		ring_buffer__free(join_side_work());
	journey_bpf__destroy(skel);
	skel = open_object(with_netfilter);
	return skel ? journey_bpf__load(skel) : -1;
}

/* Phase 2: load and attach the probe, then open its rings. NULL (with the reason on stderr) on failure. */
static struct ring_buffer *load_and_attach(void)
{
	if (load_object(true)) {
		/* Older kernel without netfilter programs: trace without them rather than not at all. */
		journey_bpf__destroy(skel);
		nf_supported = false;
		if (load_object(false)) {
			fprintf(stderr, "load BPF object failed\n");
			return NULL;
		}
	}
	if (journey_bpf__attach(skel)) {
		fprintf(stderr, "attach failed: %s\n", strerror(errno));
		return NULL;
	}
	self_ns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	struct ring_buffer *rb = join_side_work();
	if (!rb)
		fprintf(stderr, "ring buffer failed: %s\n", strerror(errno));
	return rb;
}

/* Phase 3: the ready record, once everything is attached. */
static void print_ready(uint64_t t0)
{
	struct stat st;
	fstat(self_ns_fd, &st);
	printf("{\"type\":\"ready\",\"pid\":%d,\"attach_ms\":%.1f,\"max_filters\":%d,\"netfilter\":%s,\"drop_reasons\":%d,"
	       "\"host_netns\":%lu",
	       getpid(), (now_ns() - t0) / 1e6, PJ_MAX_FILTERS, nf_supported ? "true" : "false", reason_count,
	       (unsigned long)st.st_ino);
	print_code_tables();
	print_layout();
	fputs("}\n", stdout);
	fflush(stdout);
}

/* Reads what stdin has and runs every complete command line. false once the server went away. */
static bool read_commands(void)
{
	static char line[1 << 15]; /* a filter command carries two programs of up to PJ_MAX_INSNS */
	static size_t llen;
	ssize_t r = read(0, line + llen, sizeof(line) - 1 - llen);
	if (r <= 0)
		return false;
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
	return true;
}

/* A stats record when the counters moved, at most once a second. */
static void maybe_print_stats(void)
{
	static uint64_t last_stats;
	static unsigned long long last_emitted, last_lost;
	uint64_t t = now_ns();
	if (t - last_stats <= 1000000000ull)
		return;
	last_stats = t;
	unsigned long long emitted, lost, skipped = 0;
	read_counters(&emitted, &lost);
	for (int i = 0; i < PJ_MAX_FILTERS; i++)
		skipped += budgets[i].skipped;
	if (emitted != last_emitted || lost != last_lost || skipped) {
		last_emitted = emitted;
		last_lost = lost;
		print_stats("stats", NULL);
	}
}

/* serve()'s next sleep. The probe does not wake us per event (journey.bpf.c): while events arrive, drain
 * on a short tick, which bounds a follow's added latency to DRAIN_MS. Once a drain finds nothing, sleep
 * until the probe's next event wakes us: a live view whose flow is quiet cost 500 wake-ups a second on
 * the tick (~4% of iperf3 beside it here, BENCHMARKS.md). */
static int next_sleep_ms(struct ring_buffer *rb, bool got)
{
	if (got || pend_n)
		return DRAIN_MS;
	if (!skel->bss->active_mask)
		return 200;
	skel->bss->loader_idle = 1;
	__sync_synchronize();
	/* An event written just before the probe could see the flag did not wake us: look once more. */
	if (ring_buffer__consume(rb) > 0) {
		skel->bss->loader_idle = 0;
		return DRAIN_MS;
	}
	return IDLE_MS;
}

/* Phase 4: drain the rings and serve commands until stdin closes or a signal arrives. */
static void serve(struct ring_buffer *rb)
{
	struct pollfd pfd[2] = { { .fd = ring_epfd, .events = POLLIN }, { .fd = 0, .events = POLLIN } };
	int ms = 200;
	while (!stop) {
		int n = poll(pfd, 2, flows_poll_ms(ms));
		if (n < 0 && errno != EINTR)
			break;
		if (pfd[0].revents) { /* take the edges, so the next poll waits for new ones */
			struct epoll_event evs[8];
			while (epoll_wait(ring_epfd, evs, 8, 0) == 8)
				;
		}
		if (skel->bss->loader_idle) /* a store only when set: every program run reads this line */
			skel->bss->loader_idle = 0;
		uint64_t began = now_ns();
		int got = ring_buffer__consume(rb);
		if (got > 0 || pend_n) {
			emit_until(began - HOLD_NS);
			fflush(stdout);
		}
		if ((pfd[1].revents & (POLLIN | POLLHUP)) && !read_commands())
			break; /* the server went away: so do we (and with us every link) */
		maybe_print_stats();
		flows_maybe_tick();
		ms = next_sleep_ms(rb, got > 0);
	}
}

int main(int argc, char **argv)
{
	int rc = setup_process(argc, argv);
	if (rc >= 0)
		return rc;
	uint64_t t0 = now_ns();
	ksym_thread_started = pthread_create(&ksym_thread, NULL, ksym_loader, NULL) == 0;
	struct ring_buffer *rb = load_and_attach();
	if (!rb)
		return 1;
	print_ready(t0);
	sync_rb = rb;
	serve(rb);
	ring_buffer__free(rb);
	journey_bpf__destroy(skel);
	split_free();
	return 0;
}
