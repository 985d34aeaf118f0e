/* Seed 003, exercise 6 (oxdpus): drop IPv4 packets whose source is in a map, and count them per source.
 * One map serves every attachment: the server creates it pinned under /sys/fs/bpf/packet-journey and
 * pins it again by name in tc's globals, where tc's and ip's loaders find and reuse it (pinning below).
 * `lab prog block/unblock` edit it with bpftool while the programs run. */
#include "common.h"

/* "No verdict": tc goes on to the next filter, so a scenario's program behind ours still runs. */
#define TC_ACT_UNSPEC (-1)

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);   /* IPv4 source address, network byte order */
	__type(value, __u64); /* packets dropped from it */
	__uint(max_entries, 1024);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pj_blocklist SEC(".maps");

/* True if the frame at [data, data_end) is IPv4 from a listed source (and counts the drop). */
static __always_inline bool blocked(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	__u32 saddr;
	__u64 *drops;

	if ((void *)(ip + 1) > data_end)
		return false;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return false;
	saddr = ip->saddr;
	drops = bpf_map_lookup_elem(&pj_blocklist, &saddr);
	if (!drops)
		return false;
	__sync_fetch_and_add(drops, 1);
	return true;
}

SEC("xdp")
int blocklist(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	return blocked(data, data_end) ? XDP_DROP : XDP_PASS;
}

SEC("tc")
int blocklist_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	return blocked(data, data_end) ? TC_ACT_SHOT : TC_ACT_UNSPEC;
}

char _license[] SEC("license") = "GPL";
