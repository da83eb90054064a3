// SPDX-License-Identifier: GPL-2.0
/*
 * BPF host routing for the cilium-lab local kernel lab: a tc ingress program on the host-side veth of
 * the source pod that hands packets for one destination pod straight to that pod's namespace with
 * bpf_redirect_peer(), skipping the host namespace's routing and netfilter, as Cilium's BPF host
 * routing does for local endpoints (kernel-lab.md §2.7; Cilium: bpf/lib/fib.h, redirect_ep).
 *
 * Compiled by cilium_lab/locallab/bpfprog.py at set-up, once per direction, with integer constants
 * (big-endian byte order, so that no initialised data section is needed):
 *   TARGET_IFINDEX  ifindex of the destination pod's host-side veth (in the node namespace)
 *   DMAC, SMAC      destination pod's eth0 MAC and that host veth's MAC, as 48-bit numbers
 *   DST4            destination pod's IPv4 address as a 32-bit number
 *   DST6_HI/DST6_LO destination pod's IPv6 address as two 64-bit numbers
 * Everything not addressed to the destination pod (ARP, neighbour discovery, other hosts) takes the
 * normal path, so no neighbour entries need pinning.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* byte i (0 = most significant) of an n-byte big-endian constant */
#define BYTE_OF(value, i, n) ((__u8)(((__u64)(value) >> (8 * ((n) - 1 - (i)))) & 0xff))

static __always_inline int matches(const __u8 *addr, __u64 value, int n)
{
#pragma unroll
	for (int i = 0; i < 8; i++) {
		if (i < n && addr[i] != BYTE_OF(value, i, n))
			return 0;
	}
	return 1;
}

static __always_inline void write_mac(__u8 *dst, __u64 mac)
{
#pragma unroll
	for (int i = 0; i < ETH_ALEN; i++)
		dst[i] = BYTE_OF(mac, i, ETH_ALEN);
}

static __always_inline int for_target(void *l3, void *data_end, __u16 proto)
{
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip4 = l3;
		if ((void *)(ip4 + 1) > data_end)
			return 0;
		return matches((const __u8 *)&ip4->daddr, DST4, 4);
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;
		const __u8 *daddr = (const __u8 *)&ip6->daddr;
		if ((void *)(ip6 + 1) > data_end)
			return 0;
		return matches(daddr, DST6_HI, 8) && matches(daddr + 8, DST6_LO, 8);
	}
	return 0;
}

SEC("tc")
int redirect_peer(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return TC_ACT_OK;
	if (!for_target(eth + 1, data_end, eth->h_proto))
		return TC_ACT_OK;
	write_mac(eth->h_dest, DMAC);
	write_mac(eth->h_source, SMAC);
	return bpf_redirect_peer(TARGET_IFINDEX, 0);
}

char _license[] SEC("license") = "GPL";
