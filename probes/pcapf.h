/* SPDX-License-Identifier: GPL-2.0 */
/* Included once, from journey.bpf.c (after its skb_state and skb_states): the pcap-filter side of the
 * probe. This part: an identity for a tracked skb's state, so a state left behind by a free that no
 * tracepoint sees is not inherited by the next skb at the same address.
 *
 * Why: skb_states is keyed by the skb's address and an entry is deleted at kfree_skb/consume_skb. TCP
 * frees most of its skbs elsewhere (a pure ACK in tcp_rcv_established, eaten data in tcp_eat_recv_skb:
 * __kfree_skb, skb_attempt_defer_free, the napi skb cache), and the slab gives the address to the next
 * skb on that CPU, often within microseconds, so a packet of another flow took the old packet's slots. */
#ifndef PJ_PCAPF_H
#define PJ_PCAPF_H

/* An skb's identity: what no hop of one packet's journey changes (NAT rewrites addresses, ports,
 * checksums and an ICMP echo id; forwarding the TTL; a DSR option the IP header's length), from its IP
 * header: bit 63 set when it has one, bit 62 when its L4 header was read, the protocol (55..48), the IP
 * id (47..32), and a word of the L4 header (31..0): TCP's sequence number, UDP's length, ICMP's type,
 * code and sequence. 0: not an IPv4 packet here (unknown, never mismatched). */
#define PJ_ID_IP (1ULL << 63)
#define PJ_ID_L4 (1ULL << 62)

static __always_inline __u64 skb_ident(struct sk_buff *skb, struct net_device *dev, bool l3_at_data)
{
	unsigned char *head = skb->head, *l3;
	__u16 mac = skb->mac_header, nh = skb->network_header;
	__be16 proto = skb->protocol;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		if (mac == (__u16)~0U)
			return 0;
		l3 = head + mac + 18; /* the tag is in the frame (parse() checks the inner EtherType) */
	} else if (proto != bpf_htons(ETH_P_IP)) {
		return 0;
	} else if (l3_at_data) {
		l3 = skb->data;
	} else if (nh == (__u16)~0U) {
		return 0;
	} else if (nh == mac && dev && dev->type == ARPHRD_ETHER) {
		l3 = head + mac + 14; /* a frame a packet socket wrote whole: its network header is the frame's start */
	} else {
		l3 = head + nh;
	}
	struct {
		struct iphdr ip;
		__u8 l4[8];
	} h;
	if (bpf_probe_read_kernel(&h, sizeof(h), l3) || h.ip.version != 4)
		return 0;
	__u64 id = PJ_ID_IP | ((__u64)bpf_ntohs(h.ip.id) << 32) | ((__u64)h.ip.protocol << 48);
	if (bpf_ntohs(h.ip.frag_off) & 0x1fff)
		return id; /* not the first fragment: no L4 header */
	if (h.ip.ihl != 5 && bpf_probe_read_kernel(h.l4, sizeof(h.l4), l3 + h.ip.ihl * 4))
		return id;
	const __u8 *t = h.l4;
	__u32 w;
	if (h.ip.protocol == IPPROTO_TCP)
		w = ((__u32)t[4] << 24) | ((__u32)t[5] << 16) | ((__u32)t[6] << 8) | t[7];
	else if (h.ip.protocol == IPPROTO_UDP)
		w = ((__u32)t[4] << 8) | t[5];
	else if (h.ip.protocol == IPPROTO_ICMP)
		w = ((__u32)t[0] << 24) | ((__u32)t[1] << 16) | ((__u32)t[6] << 8) | t[7];
	else
		return id;
	return id | PJ_ID_L4 | w;
}

/* Whether two identities can be one packet's: unknown on either side agrees; a missing L4 header (a
 * fragment, then the packet reassembled from it at that address) compares the IP header's part only. */
static __always_inline bool ident_same(__u64 a, __u64 b)
{
	if (!(a & PJ_ID_IP) || !(b & PJ_ID_IP))
		return true;
	if ((a ^ b) & 0x00ffffff00000000ULL)
		return false;
	return !(a & b & PJ_ID_L4) || (__u32)a == (__u32)b;
}

/* The tracked state of this skb, or NULL; a state another packet left at this address is deleted. */
static __always_inline struct skb_state *state_of(__u64 *key, struct sk_buff *skb, struct net_device *dev,
						  bool l3_at_data)
{
	struct skb_state *st = bpf_map_lookup_elem(&skb_states, key);
	if (st && !ident_same(st->ident, skb_ident(skb, dev, l3_at_data))) {
		bpf_map_delete_elem(&skb_states, key);
		return NULL;
	}
	return st;
}

#endif
