// SPDX-License-Identifier: GPL-2.0
// Measure-MemoryReclaim: how long tasks stall reclaiming memory themselves (direct reclaim, memory-cgroup reclaim,
// v1 soft-limit reclaim, direct compaction), with the pages reclaimed, per process or cgroup, in log-linear
// histograms, like drsnoop aggregated; and kswapd wakeups. Begin/end pairs are matched per thread and kind.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "kd_filter.bpf.h"
#include "kd_hist.bpf.h"
#include "kd_gen.bpf.h"
#include "reclaim.h"

const volatile __u8 targ_group = RECLAIM_BY_NONE;

struct start_key {
	__u32 tid;
	__u32 kind;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct start_key);
	__type(value, __u64);
} kd_rc_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4096);
	__type(key, struct reclaim_key);
	__type(value, struct kd_hist);
} kd_rc_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4096);
	__type(key, struct reclaim_key);
	__type(value, __u64);
} kd_rc_pages SEC(".maps");

KD_GEN_MAP(kd_rc_ctl);

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RECLAIM_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} kd_rc_stats SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&kd_rc_stats, &idx);
	if (v)
		(*v)++;
}

static __always_inline void begin(__u32 kind)
{
	if (!kd_wanted_current())
		return;
	struct start_key k = { .tid = (__u32)bpf_get_current_pid_tgid(), .kind = kind };
	__u64 now = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&kd_rc_start, &k, &now, BPF_ANY))
		stat_inc(RECLAIM_STAT_START_FULL);
}

static __always_inline void end(__u32 kind, __u64 pages)
{
	struct start_key k = { .tid = (__u32)bpf_get_current_pid_tgid(), .kind = kind };
	__u64 *tsp = bpf_map_lookup_elem(&kd_rc_start, &k);
	if (!tsp)
		return;
	__s64 delta = bpf_ktime_get_ns() - *tsp;
	bpf_map_delete_elem(&kd_rc_start, &k);
	if (delta < 0)
		return;
	struct reclaim_key key = { .kind = kind };
	key.gen = kd_generation(&kd_rc_ctl);
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	if (targ_group == RECLAIM_BY_PROCESS) {
		key.tgid = bpf_get_current_pid_tgid() >> 32;
		BPF_CORE_READ_STR_INTO(&key.comm, t, group_leader, comm);
	}
	if (targ_group != RECLAIM_BY_NONE)
		key.cgroup = kd_task_cgroup_id(t);
	if (!KD_HIST_UPDATE(kd_rc_hist, &key, delta, 0)) {
		stat_inc(RECLAIM_STAT_HIST_FULL);
		return;
	}
	__u64 *p = bpf_map_lookup_elem(&kd_rc_pages, &key);
	if (p)
		*p += pages;
	else
		bpf_map_update_elem(&kd_rc_pages, &key, &pages, BPF_NOEXIST);
}

#define RECLAIM_PAIR(m, tp, kind)                                                              \
	SEC(#m "/mm_vmscan_" #tp "_begin")                                                      \
	int BPF_PROG(kd_rc_##m##_##tp##_begin, int order, gfp_t gfp) { begin(kind); return 0; } \
	SEC(#m "/mm_vmscan_" #tp "_end")                                                        \
	int BPF_PROG(kd_rc_##m##_##tp##_end, unsigned long reclaimed) { end(kind, reclaimed); return 0; }

RECLAIM_PAIR(raw_tp, direct_reclaim, RECLAIM_DIRECT)
RECLAIM_PAIR(raw_tp, memcg_reclaim, RECLAIM_MEMCG)
RECLAIM_PAIR(raw_tp, memcg_softlimit_reclaim, RECLAIM_MEMCG_SOFT)
RECLAIM_PAIR(tp_btf, direct_reclaim, RECLAIM_DIRECT)
RECLAIM_PAIR(tp_btf, memcg_reclaim, RECLAIM_MEMCG)
RECLAIM_PAIR(tp_btf, memcg_softlimit_reclaim, RECLAIM_MEMCG_SOFT)

/* Direct compaction only: kcompactd's background runs stall no allocation. */
static __always_inline void compaction(struct compact_control *cc, int done)
{
	if (!BPF_CORE_READ(cc, direct_compaction))
		return;
	if (done)
		end(RECLAIM_COMPACTION, 0);
	else
		begin(RECLAIM_COMPACTION);
}

SEC("raw_tp/mm_compaction_begin")
int BPF_PROG(kd_rc_raw_tp_compaction_begin, struct compact_control *cc) { compaction(cc, 0); return 0; }
SEC("raw_tp/mm_compaction_end")
int BPF_PROG(kd_rc_raw_tp_compaction_end, struct compact_control *cc) { compaction(cc, 1); return 0; }
SEC("tp_btf/mm_compaction_begin")
int BPF_PROG(kd_rc_tp_btf_compaction_begin, struct compact_control *cc) { compaction(cc, 0); return 0; }
SEC("tp_btf/mm_compaction_end")
int BPF_PROG(kd_rc_tp_btf_compaction_end, struct compact_control *cc) { compaction(cc, 1); return 0; }

SEC("raw_tp/mm_vmscan_wakeup_kswapd")
int BPF_PROG(kd_rc_raw_tp_kswapd_wakeup) { stat_inc(RECLAIM_STAT_KSWAPD_WAKEUPS); return 0; }
SEC("tp_btf/mm_vmscan_wakeup_kswapd")
int BPF_PROG(kd_rc_tp_btf_kswapd_wakeup, int nid, int zid, int order, gfp_t gfp) { stat_inc(RECLAIM_STAT_KSWAPD_WAKEUPS); return 0; }

char LICENSE[] SEC("license") = "GPL";
