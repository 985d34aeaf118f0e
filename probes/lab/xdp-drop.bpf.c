/* Seed 003, exercise 5: "hello XDP_DROP". It runs before the kernel allocates an skb (native mode) or
 * right after (generic mode), and drops every received frame. */
#include "common.h"

SEC("xdp")
int xdp_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
