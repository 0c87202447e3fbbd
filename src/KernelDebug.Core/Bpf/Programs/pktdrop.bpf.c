// SPDX-License-Identifier: GPL-2.0
// Measure-PacketDrop: packets the kernel freed as drops (skb:kfree_skb; consume_skb is the other, normal end), counted
// with their bytes by drop reason (enum skb_drop_reason, 5.17+), location, protocol and interface, like dropwatch and
// perf's drop monitor. Two programs for the same logic; the loader keeps raw_tp or tp_btf.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "kd_filter.bpf.h"
#include "kd_gen.bpf.h"
#include "pktdrop.h"

const volatile __u8 targ_by_reason = 0;
const volatile __u8 targ_by_location = 0;
const volatile __u8 targ_by_protocol = 0;
const volatile __u8 targ_by_ifindex = 0;
const volatile __u8 targ_reason_filter = 0;      /* count only the reasons set in targ_reasons */
const volatile __u64 targ_reasons[PD_MAX_REASONS / 64] = {};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 10240);
	__type(key, struct pd_key);
	__type(value, struct pd_val);
} kd_pd_drops SEC(".maps");

KD_GEN_MAP(kd_pd_ctl);

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PD_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} kd_pd_stats SEC(".maps");

static __always_inline int wanted_reason(__u32 reason)
{
	if (!targ_reason_filter)
		return 1;
	__u32 word = reason / 64;
	/* the bound is checked on the register the index uses (clang would otherwise test a copy) */
	barrier_var(word);
	if (word >= PD_MAX_REASONS / 64)
		return 0;
	return (targ_reasons[word] >> (reason % 64)) & 1;
}

static __always_inline int on_drop(struct sk_buff *skb, void *location, __u32 reason)
{
	if (!wanted_reason(reason) || !kd_wanted_current())
		return 0;
	struct pd_key key = {};
	key.gen = kd_generation(&kd_pd_ctl);
	if (targ_by_reason)
		key.reason = reason;
	if (targ_by_location)
		key.location = (__u64)location;
	if (targ_by_protocol)
		key.protocol = bpf_ntohs(BPF_CORE_READ(skb, protocol));
	if (targ_by_ifindex) {
		struct net_device *dev = BPF_CORE_READ(skb, dev);
		key.ifindex = dev ? BPF_CORE_READ(dev, ifindex) : BPF_CORE_READ(skb, skb_iif);
	}
	__u64 len = BPF_CORE_READ(skb, len);

	struct pd_val *v = bpf_map_lookup_elem(&kd_pd_drops, &key);
	if (!v) {
		struct pd_val zero = {};
		bpf_map_update_elem(&kd_pd_drops, &key, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&kd_pd_drops, &key);
		if (!v) {
			__u32 idx = PD_STAT_FULL;
			__u64 *n = bpf_map_lookup_elem(&kd_pd_stats, &idx);
			if (n)
				(*n)++;
			return 0;
		}
	}
	v->count++;
	v->bytes += len;
	return 0;
}

/* 6.18: TP_PROTO(struct sk_buff *skb, void *location, enum skb_drop_reason reason, struct sock *rx_sk); rx_sk (6.11+) is
 * not read, so kernels from 5.17 (the reason argument) on attach. */
SEC("raw_tp/kfree_skb")
int BPF_PROG(kd_pd_raw_kfree_skb, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	return on_drop(skb, location, (__u32)reason);
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(kd_pd_btf_kfree_skb, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	return on_drop(skb, location, (__u32)reason);
}

char LICENSE[] SEC("license") = "GPL";
