/* Seed 003, exercise 3: a tc classifier that drops every packet it sees. Attached by `lab prog attach
 * drop-all` on a tc ingress or egress hook, direct-action, so its return value is the verdict. */
#include "common.h"

SEC("tc")
int drop_all(struct __sk_buff *skb)
{
	return TC_ACT_SHOT;
}

char _license[] SEC("license") = "GPL";
