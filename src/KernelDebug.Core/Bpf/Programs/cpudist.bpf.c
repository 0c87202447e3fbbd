// SPDX-License-Identifier: GPL-2.0
// Measure-CpuTimeSlice: how long a task runs each time it is on a CPU (sched_switch in to out), or with
// targ_offcpu how long it is off between two runs, in log-linear histograms per group, like cpudist.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "kd_filter.bpf.h"
#include "kd_hist.bpf.h"
#include "kd_gen.bpf.h"
#include "sched.h"

const volatile __u8 targ_group = SCHED_BY_NONE;
const volatile __u8 targ_offcpu = 0;

SCHED_HIST_MAPS(kd_cd);

static __always_inline void mark(struct task_struct *t, __u64 now)
{
	__u32 tid = BPF_CORE_READ(t, pid);
	if (!tid || !kd_wanted_task(t))
		return;
	if (bpf_map_update_elem(&kd_cd_start, &tid, &now, BPF_ANY))
		stat_inc(SCHED_STAT_START_FULL);
}

static __always_inline void account(struct task_struct *t, __u64 now)
{
	__u32 tid = BPF_CORE_READ(t, pid);
	__u64 *tsp = bpf_map_lookup_elem(&kd_cd_start, &tid);
	if (!tsp)
		return;
	__u64 delta = now - *tsp;
	bpf_map_delete_elem(&kd_cd_start, &tid);
	if ((__s64)delta < 0)
		return;
	struct sched_hist_key key = {};
	key.gen = kd_generation(&kd_cd_ctl);
	sched_group_key(&key, t, targ_group);
	if (!KD_HIST_UPDATE(kd_cd_hist, &key, delta, 0))
		stat_inc(SCHED_STAT_HIST_FULL);
}

static __always_inline void switched(struct task_struct *prev, struct task_struct *next)
{
	__u64 now = bpf_ktime_get_ns();
	if (targ_offcpu) {
		mark(prev, now);
		account(next, now);
	} else {
		account(prev, now);
		mark(next, now);
	}
}

SEC("raw_tp/sched_switch")
int BPF_PROG(kd_cd_raw_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{ switched(prev, next); return 0; }

SEC("tp_btf/sched_switch")
int BPF_PROG(kd_cd_btf_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{ switched(prev, next); return 0; }

char LICENSE[] SEC("license") = "GPL";
