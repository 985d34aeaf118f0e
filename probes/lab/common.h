/* Shared by the lab's tc/XDP/cgroup programs: vmlinux types (CO-RE) plus the few constants uapi headers
 * would give, since vmlinux.h carries no #defines. */
#pragma once
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7
#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define ETH_HLEN 14
#define IPPROTO_ICMP 1
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
