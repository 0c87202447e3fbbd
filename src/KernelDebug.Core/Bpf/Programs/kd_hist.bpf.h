// SPDX-License-Identifier: GPL-2.0
// Shared by every KernelDebug BPF program: the log-linear histogram the C# Histogram type reads.
// Layout contract with src/KernelDebug.Core/Bpf/Histogram.cs (SlotCount) and Bpf/Tools/BpfToolLoader.cs (HistHeader, the u64s before the slots): change both together.
#ifndef KD_HIST_BPF_H
#define KD_HIST_BPF_H

// Each power-of-two range [2^e, 2^(e+1)) is split into 2^KD_HIST_SUB_BITS linear sub-buckets, so a bucket is
// at most 1/8 of its value wide and interpolated percentiles land within a few percent.
#define KD_HIST_SUB_BITS 3
#define KD_HIST_SUBS (1 << KD_HIST_SUB_BITS)
#define KD_HIST_MAX_EXP 36                 /* 2^36 ns = 68.7 s; larger values go to the last bucket */
#define KD_HIST_SLOTS (KD_HIST_SUBS + (KD_HIST_MAX_EXP - KD_HIST_SUB_BITS + 1) * KD_HIST_SUBS)

struct kd_hist {
	__u64 count;
	__u64 sum;
	__u64 min;
	__u64 max;
	__u64 errors;
	__u64 slots[KD_HIST_SLOTS];
};

static __always_inline __u32 kd_log2_u64(__u64 v)
{
	__u32 r = 0, shift;
	shift = (v > 0xFFFFFFFFULL) << 5; v >>= shift; r |= shift;
	shift = (v > 0xFFFF) << 4; v >>= shift; r |= shift;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

// Values below 2^SUB_BITS get one bucket each; above, bucket = (exp - SUB_BITS + 1) * SUBS + the next SUB_BITS bits.
static __always_inline __u32 kd_hist_slot(__u64 v)
{
	if (v < KD_HIST_SUBS)
		return (__u32)v;
	__u32 e = kd_log2_u64(v);
	if (e > KD_HIST_MAX_EXP)
		return KD_HIST_SLOTS - 1;
	__u32 sub = (__u32)(v >> (e - KD_HIST_SUB_BITS)) & (KD_HIST_SUBS - 1);
	return (e - KD_HIST_SUB_BITS + 1) * KD_HIST_SUBS + sub;
}

// Adds one value to a per-CPU histogram value (no atomics needed: per-CPU maps are written by one CPU).
static __always_inline void kd_hist_add(struct kd_hist *h, __u64 v, int failed)
{
	if (h->count == 0 || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->count++;
	h->sum += v;
	if (failed)
		h->errors++;
	__u32 slot = kd_hist_slot(v);
	/* Keep clang from folding the bound check into the arithmetic: the verifier must see it on this register. */
	barrier_var(slot);
	if (slot < KD_HIST_SLOTS)
		h->slots[slot]++;
}

static const struct kd_hist kd_zero_hist = {};

// Adds v to the per-CPU histogram at key (created zeroed on first use); returns 0 when the table is full.
#define KD_HIST_UPDATE(map, key, v, failed)                                                         \
	({                                                                                          \
		struct kd_hist *__h = bpf_map_lookup_elem(&map, key);                               \
		if (!__h) {                                                                         \
			bpf_map_update_elem(&map, key, &kd_zero_hist, BPF_NOEXIST);                 \
			__h = bpf_map_lookup_elem(&map, key);                                       \
		}                                                                                   \
		if (__h)                                                                            \
			kd_hist_add(__h, v, failed);                                                \
		__h != 0;                                                                           \
	})


#endif
