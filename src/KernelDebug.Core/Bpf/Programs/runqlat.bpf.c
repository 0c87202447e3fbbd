// SPDX-License-Identifier: GPL-2.0
// Measure-RunQueueLatency: time from a task becoming runnable (sched_wakeup, sched_wakeup_new, or preempted while
// runnable at sched_switch) to it running (sched_switch in), in log-linear histograms per group, like runqlat.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "kd_filter.bpf.h"
#include "kd_hist.bpf.h"
#include "kd_gen.bpf.h"
#include "sched.h"

const volatile __u8 targ_group = SCHED_BY_NONE;
const volatile __u64 targ_min_ns = 0;

SCHED_HIST_MAPS(kd_rq);

static __always_inline void enqueued(struct task_struct *p)
{
	if (!kd_wanted_task(p))
		return;
	__u32 tid = BPF_CORE_READ(p, pid);
	if (!tid)
		return;
	__u64 ts = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&kd_rq_start, &tid, &ts, BPF_ANY))
		stat_inc(SCHED_STAT_START_FULL);
}

static __always_inline void switched(bool preempt, struct task_struct *prev, struct task_struct *next, unsigned int prev_state)
{
	/* Still runnable (preempted, or yielded while TASK_RUNNING): it waits in the run queue from now. */
	if (preempt || prev_state == 0)
		enqueued(prev);
	__u32 tid = BPF_CORE_READ(next, pid);
	__u64 *tsp = bpf_map_lookup_elem(&kd_rq_start, &tid);
	if (!tsp)
		return;
	__u64 delta = bpf_ktime_get_ns() - *tsp;
	bpf_map_delete_elem(&kd_rq_start, &tid);
	if ((__s64)delta < 0 || delta < targ_min_ns)
		return;
	struct sched_hist_key key = {};
	key.gen = kd_generation(&kd_rq_ctl);
	sched_group_key(&key, next, targ_group);
	if (!KD_HIST_UPDATE(kd_rq_hist, &key, delta, 0))
		stat_inc(SCHED_STAT_HIST_FULL);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(kd_rq_raw_wakeup, struct task_struct *p) { enqueued(p); return 0; }
SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(kd_rq_raw_wakeup_new, struct task_struct *p) { enqueued(p); return 0; }
SEC("raw_tp/sched_switch")
int BPF_PROG(kd_rq_raw_switch, bool preempt, struct task_struct *prev, struct task_struct *next, unsigned int prev_state)
{ switched(preempt, prev, next, prev_state); return 0; }

SEC("tp_btf/sched_wakeup")
int BPF_PROG(kd_rq_btf_wakeup, struct task_struct *p) { enqueued(p); return 0; }
SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(kd_rq_btf_wakeup_new, struct task_struct *p) { enqueued(p); return 0; }
SEC("tp_btf/sched_switch")
int BPF_PROG(kd_rq_btf_switch, bool preempt, struct task_struct *prev, struct task_struct *next, unsigned int prev_state)
{ switched(preempt, prev, next, prev_state); return 0; }

char LICENSE[] SEC("license") = "GPL";
