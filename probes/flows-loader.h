/* The loader's half of the flow view (flows.h): the `flows` command, and one {"type":"flows"} record per
 * tick while it is on. Included by loader.c after its globals (skel, reason_names, now_ns, ack).
 *
 *   <id> flows on [slot=S] [n=N] [tick_ms=MS]   count every packet; with slot, mark the first packet of
 *                                               each new flow and then at most N a second (default 1) in
 *                                               filter slot S, whose hops then go out as usual
 *                                               (at most FLOW_SAMPLE_BUDGET packets per 100 ms)
 *   <id> flows off                              stop, and print what was counted since the last tick
 *
 * A tick flips flows_gen, waits FLOW_GRACE_US for programs that read the old value to finish (tracing
 * programs run for microseconds, with migration off), then reads and deletes every entry of the old map in
 * batches. Nothing writes that map any more, so the read is exact and nothing is lost between read and
 * delete. The record:
 *   {"type":"flows","seq":N,"ts_ns":T,"interval_ns":I,"entries":E,"max_entries":M,"insert_failed":F,
 *    "lost_packets":P,"lost_bytes":B,"lost_drops":D,"sampled":S,"counted":C,
 *    "flows":[[src,dst,sport,dport,proto,netns,packets,bytes,payload,first_ns,last_ns,[ifindex...],
 *              [[reason,count]...],sampled],...]}
 * Counts in "flows" are this tick's; the counters after "max_entries" are totals since `flows on`. Ticks
 * count from 1 since `flows on`: the server's state says seq 0 before the first tick, and a watcher through
 * it skips that state (server/flows/remote.ts), so a first tick numbered 0 was never printed there. */
#include "flows.h"

#define FLOW_GRACE_US 5000
#define FLOW_BATCH 1024
#define FLOW_SAMPLE_BUDGET 100
#define FLOW_DRAIN_MS 50

static bool flows_enabled;
static uint32_t flow_entries = 32768; /* --flow-entries, before load */
static uint64_t flow_tick_ns = 1000000000ull, flow_next_tick, flow_last_tick;
static unsigned long long flow_seq;
static int flow_slot = -1;

struct flow_merged {
	struct pj_flow_key k;
	struct pj_flow_val v;
};
static struct flow_merged *flow_out;
static size_t flow_out_n, flow_out_cap;

/* --no-flows: the flow view's code is left out of the programs at load (a constant the verifier prunes
 * on), so a loader that will never count flows, a CLI follow's, attaches faster. */
static bool flows_loaded = true;

static void flows_configure(struct journey_bpf *s)
{
	s->rodata->with_flows = flows_loaded;
	/* Preallocated per-CPU hashes: at 32768 entries creating the two took ~60-80 ms of the attach, which a
	 * loader without the view must not pay for maps it never writes. */
	uint32_t n = flows_loaded ? flow_entries : 1;
	bpf_map__set_max_entries(s->maps.flows0, n);
	bpf_map__set_max_entries(s->maps.flows1, n);
	bpf_map__set_max_entries(s->maps.flow_samples, n);
}

/* --flow-entries N: true when argv[i] was it (i then points at N). */
static bool flows_flag(int argc, char **argv, int *i)
{
	if (!strcmp(argv[*i], "--no-flows")) {
		flows_loaded = false;
		return true;
	}
	if (strcmp(argv[*i], "--flow-entries") || *i + 1 >= argc)
		return false;
	char *end;
	unsigned long v = strtoul(argv[*i + 1], &end, 10);
	if (*end || v < 1 || v > (1u << 22))
		return false;
	flow_entries = v;
	(*i)++;
	return true;
}

static void flow_merge_value(struct pj_flow_val *into, const struct pj_flow_val *v)
{
	into->packets += v->packets;
	into->bytes += v->bytes;
	into->payload += v->payload;
	into->sampled += v->sampled;
	if (v->first_ns && (!into->first_ns || v->first_ns < into->first_ns))
		into->first_ns = v->first_ns;
	if (v->last_ns > into->last_ns)
		into->last_ns = v->last_ns;
	for (int i = 0; i < PJ_FLOW_DEVS; i++) {
		uint32_t d = v->ifindex[i];
		if (!d)
			break;
		int j = 0;
		while (j < PJ_FLOW_DEVS && into->ifindex[j] && into->ifindex[j] != d)
			j++;
		if (j < PJ_FLOW_DEVS && !into->ifindex[j])
			into->ifindex[j] = d;
	}
	into->drops_other += v->drops_other;
	for (int i = 0; i < PJ_FLOW_DROPS; i++) {
		if (!v->drop_count[i])
			continue;
		int j = 0;
		while (j < PJ_FLOW_DROPS && into->drop_count[j] && into->drop_reason[j] != v->drop_reason[i])
			j++;
		if (j == PJ_FLOW_DROPS) {
			into->drops_other += v->drop_count[i];
			continue;
		}
		into->drop_reason[j] = v->drop_reason[i];
		into->drop_count[j] += v->drop_count[i];
	}
}

/* Reads and deletes every entry of one map, merging each flow's per-CPU values into flow_out. */
static void flows_drain(int fd)
{
	static void *keys, *vals;
	static int ncpu;
	size_t vsz = (sizeof(struct pj_flow_val) + 7) & ~7ul;
	if (!keys) {
		ncpu = libbpf_num_possible_cpus();
		keys = calloc(FLOW_BATCH, sizeof(struct pj_flow_key));
		vals = calloc((size_t)FLOW_BATCH * (ncpu > 0 ? ncpu : 1), vsz);
		if (ncpu <= 0 || !keys || !vals)
			exit(1);
	}
	/* A batch takes whole hash buckets (ENOSPC if one bucket held more than FLOW_BATCH entries). */
	uint32_t in = 0, out = 0;
	bool first = true;
	for (;;) {
		uint32_t count = FLOW_BATCH;
		int err = bpf_map_lookup_and_delete_batch(fd, first ? NULL : &in, &out, keys, vals, &count, NULL);
		first = false;
		int e = err ? errno : 0;
		for (uint32_t i = 0; i < count; i++) {
			if (flow_out_n == flow_out_cap) {
				size_t cap = flow_out_cap ? flow_out_cap * 2 : 1024;
				struct flow_merged *p = realloc(flow_out, cap * sizeof(*p));
				if (!p)
					exit(1);
				flow_out = p;
				flow_out_cap = cap;
			}
			struct flow_merged *m = &flow_out[flow_out_n++];
			memset(m, 0, sizeof(*m));
			memcpy(&m->k, (char *)keys + i * sizeof(struct pj_flow_key), sizeof(m->k));
			for (int c = 0; c < ncpu; c++)
				flow_merge_value(&m->v, (const struct pj_flow_val *)((char *)vals + ((size_t)i * ncpu + c) * vsz));
		}
		if (err) {
			if (e != ENOENT)
				fprintf(stderr, "flows: batch read: %s\n", strerror(e));
			break;
		}
		in = out;
	}
}

static void flow_counters_sum(struct pj_flow_counters *sum)
{
	static struct pj_flow_counters *per_cpu;
	static int ncpu;
	memset(sum, 0, sizeof(*sum));
	if (!per_cpu) {
		ncpu = libbpf_num_possible_cpus();
		if (ncpu <= 0 || !(per_cpu = calloc(ncpu, sizeof(*per_cpu))))
			return;
	}
	uint32_t zero = 0;
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.flow_counters), &zero, per_cpu))
		return;
	for (int i = 0; i < ncpu; i++) {
		sum->insert_failed += per_cpu[i].insert_failed;
		sum->lost_packets += per_cpu[i].lost_packets;
		sum->lost_bytes += per_cpu[i].lost_bytes;
		sum->lost_drops += per_cpu[i].lost_drops;
		sum->sampled += per_cpu[i].sampled;
		sum->counted += per_cpu[i].counted;
	}
}

static void put_addr(const uint8_t *a)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	char s[INET6_ADDRSTRLEN];
	if (!memcmp(a, mapped, 12))
		inet_ntop(AF_INET, a + 12, s, sizeof(s));
	else
		inet_ntop(AF_INET6, a, s, sizeof(s));
	printf("\"%s\"", s);
}

static void flows_print(uint64_t t, uint64_t interval)
{
	struct pj_flow_counters c;
	flow_counters_sum(&c);
	printf("{\"type\":\"flows\",\"seq\":%llu,\"ts_ns\":%llu,\"interval_ns\":%llu,\"entries\":%zu,\"max_entries\":%u,"
	       "\"insert_failed\":%llu,\"lost_packets\":%llu,\"lost_bytes\":%llu,\"lost_drops\":%llu,\"sampled\":%llu,"
	       "\"counted\":%llu,\"flows\":[",
	       ++flow_seq, (unsigned long long)t, (unsigned long long)interval, flow_out_n, flow_entries,
	       (unsigned long long)c.insert_failed, (unsigned long long)c.lost_packets,
	       (unsigned long long)c.lost_bytes, (unsigned long long)c.lost_drops, (unsigned long long)c.sampled,
	       (unsigned long long)c.counted);
	for (size_t i = 0; i < flow_out_n; i++) {
		const struct pj_flow_key *k = &flow_out[i].k;
		const struct pj_flow_val *v = &flow_out[i].v;
		fputs(i ? ",[" : "[", stdout);
		put_addr(k->saddr);
		putchar_unlocked(',');
		put_addr(k->daddr);
		printf(",%u,%u,%u,%u,%llu,%llu,%llu,%llu,%llu,[", k->sport, k->dport, k->proto, k->netns,
		       (unsigned long long)v->packets, (unsigned long long)v->bytes, (unsigned long long)v->payload,
		       (unsigned long long)v->first_ns, (unsigned long long)v->last_ns);
		for (int d = 0; d < PJ_FLOW_DEVS && v->ifindex[d]; d++)
			printf("%s%u", d ? "," : "", v->ifindex[d]);
		fputs("],[", stdout);
		const char *sep = "";
		for (int d = 0; d < PJ_FLOW_DROPS && v->drop_count[d]; d++) {
			uint32_t r = v->drop_reason[d];
			const char *n = r < MAX_REASONS && reason_names[r] ? reason_names[r] : NULL;
			if (n)
				printf("%s[\"%s\",%u]", sep, n, v->drop_count[d]);
			else
				printf("%s[\"REASON_%u\",%u]", sep, r, v->drop_count[d]);
			sep = ",";
		}
		if (v->drops_other)
			printf("%s[\"OTHER_REASONS\",%u]", sep, v->drops_other);
		printf("],%u]", v->sampled);
	}
	fputs("]}\n", stdout);
	fflush(stdout);
}

/* One tick: flip, grace, drain the old generation, print. `both`: drain the current one too (at off). */
static void flows_tick_now(bool both)
{
	uint32_t old = skel->bss->flows_gen;
	__atomic_store_n(&skel->bss->flows_gen, !old, __ATOMIC_SEQ_CST);
	usleep(FLOW_GRACE_US);
	flow_out_n = 0;
	flows_drain(bpf_map__fd(old ? skel->maps.flows1 : skel->maps.flows0));
	if (both)
		flows_drain(bpf_map__fd(old ? skel->maps.flows0 : skel->maps.flows1));
	uint64_t t = now_ns();
	flows_print(t, flow_last_tick ? t - flow_last_tick : 0);
	flow_last_tick = t;
}

/* Called on every loop of serve(): a tick when one is due. */
static void flows_maybe_tick(void)
{
	if (!flows_enabled)
		return;
	uint64_t t = now_ns();
	if (t < flow_next_tick)
		return;
	flow_next_tick += flow_tick_ns;
	if (flow_next_tick <= t) /* fell behind (a stop, a slow pipe): the next tick from now */
		flow_next_tick = t + flow_tick_ns;
	flows_tick_now(false);
}

/* serve()'s poll timeout: no later than the next tick. While the flow view's sampled packets are all that is
 * traced, nobody waits on them: drain every FLOW_DRAIN_MS, not DRAIN_MS (iperf3 with the view on went from
 * 0.888x to 0.930x of untraced, BENCHMARKS.md; a full ring still wakes the loader early). */
static int flows_poll_ms(int ms)
{
	if (!flows_enabled)
		return ms;
	if (!(skel->bss->active_mask & ~skel->bss->flows_sample_bit) && ms < FLOW_DRAIN_MS)
		ms = FLOW_DRAIN_MS;
	uint64_t t = now_ns();
	int until = t >= flow_next_tick ? 0 : (int)((flow_next_tick - t) / 1000000) + 1;
	return until < ms ? until : ms;
}

static void map_clear(int fd, size_t key_size)
{
	char key[64], next[64];
	if (key_size > sizeof(key))
		return;
	while (bpf_map_get_next_key(fd, NULL, next) == 0) {
		memcpy(key, next, key_size);
		if (bpf_map_delete_elem(fd, key))
			break;
	}
}

static void flow_slot_release(void)
{
	if (flow_slot < 0)
		return;
	skel->bss->flows_sample_bit = 0;
	budget_reset(flow_slot, 0, 0);
	__atomic_and_fetch(&skel->bss->active_mask, ~(1u << flow_slot), __ATOMIC_SEQ_CST);
	update_nslots();
	flow_slot = -1;
}

static void cmd_flows(const char *id, char *args)
{
	char *save = NULL, *tok = strtok_r(args, " ", &save);
	if (tok && !strcmp(tok, "off") && !strtok_r(NULL, " ", &save)) {
		if (!flows_enabled) {
			ack(id, true, NULL);
			return;
		}
		flows_enabled = false;
		skel->bss->flows_on = 0;
		flow_slot_release();
		flows_tick_now(true); /* the last counts, and both maps left empty */
		ack(id, true, NULL);
		return;
	}
	if (!tok || strcmp(tok, "on")) {
		ack(id, false, ",\"error\":\"usage: flows on [slot=S] [n=N] [tick_ms=MS] | flows off\"");
		return;
	}
	if (!flows_loaded) {
		ack(id, false, ",\"error\":\"this loader was started with --no-flows\"");
		return;
	}
	long slot = -1;
	unsigned long n = 1, tick_ms = 1000;
	while ((tok = strtok_r(NULL, " ", &save))) {
		char *eq = strchr(tok, '='), *end;
		if (!eq) {
			ack(id, false, ",\"error\":\"bad token\"");
			return;
		}
		*eq++ = 0;
		unsigned long v = strtoul(eq, &end, 10);
		if (!*eq || *end) {
			ack(id, false, ",\"error\":\"bad flows value %s\"", tok);
			return;
		}
		if (!strcmp(tok, "slot") && v < PJ_MAX_FILTERS)
			slot = v;
		else if (!strcmp(tok, "n") && v <= 1000)
			n = v;
		else if (!strcmp(tok, "tick_ms") && v >= 100 && v <= 60000)
			tick_ms = v;
		else {
			ack(id, false, ",\"error\":\"bad flows field %s\"", tok);
			return;
		}
	}
	if (slot >= 0 && (skel->bss->active_mask & (1u << slot)) && slot != flow_slot) {
		ack(id, false, ",\"error\":\"slot %ld is in use\"", slot);
		return;
	}
	flow_slot_release();
	if (!flows_enabled) {
		/* A fresh view: nothing left from a previous one, and every flow new again. */
		map_clear(bpf_map__fd(skel->maps.flows0), sizeof(struct pj_flow_key));
		map_clear(bpf_map__fd(skel->maps.flows1), sizeof(struct pj_flow_key));
		map_clear(bpf_map__fd(skel->maps.flow_samples), sizeof(struct pj_flow_key));
		struct pj_flow_counters zero[256] = {};
		uint32_t k = 0;
		if (libbpf_num_possible_cpus() <= 256)
			bpf_map_update_elem(bpf_map__fd(skel->maps.flow_counters), &k, zero, BPF_ANY);
		flow_seq = 0;
		flow_last_tick = now_ns();
		flow_next_tick = flow_last_tick + tick_ms * 1000000ull;
	}
	flow_tick_ns = tick_ms * 1000000ull;
	skel->bss->flows_sample_n = n;
	skel->bss->flows_sample_gap = n ? 1000000000ull / n : 1000000000ull;
	if (slot >= 0) {
		/* The slot's filter stays empty: handle() never matches it, it only follows marked skbs. */
		memset(&skel->bss->filters[slot], 0, sizeof(struct pj_filter));
		memset(&skel->bss->progs[slot], 0, sizeof(skel->bss->progs[slot]));
		/* Sampled journeys to the server: at most FLOW_SAMPLE_BUDGET packets per 100 ms in all (many new
		 * flows at once, a scan, would otherwise send a journey each); the rest stay counted, untraced. */
		budget_reset(slot, FLOW_SAMPLE_BUDGET, 100000000ull);
		skel->bss->slot_epoch[slot] = now_ns(); /* skbs a previous user of the slot traced are not ours */
		flow_slot = slot;
		skel->bss->flows_sample_bit = 1u << slot;
		__atomic_or_fetch(&skel->bss->active_mask, 1u << slot, __ATOMIC_SEQ_CST);
		update_nslots();
	}
	flows_enabled = true;
	skel->bss->flows_on = 1;
	ack(id, true, ",\"max_entries\":%u", flow_entries);
}
