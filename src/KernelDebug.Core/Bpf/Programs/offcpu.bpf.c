// SPDX-License-Identifier: GPL-2.0
// Measure-OffCpuTime: how long tasks are blocked off-CPU, summed per (task, kernel stack, user stack) where they
// blocked, like offcputime; with targ_waker also per stack of the task that woke them (sched_wakeup), like bcc's
// offwaketime. Stacks are captured in the blocking task's own context at sched_switch (prev is current) and in the
// waker's at sched_wakeup.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "kd_filter.bpf.h"
#include "kd_gen.bpf.h"
#include "kd_stack.bpf.h"
#include "sched.h"

const volatile __u32 targ_state_mask = 0xffffffff; /* prev_state bits counted; TASK_RUNNING (0) = preempted */
const volatile __u8 targ_preempted = 0;            /* also count preempted (still runnable) tasks */
const volatile __u64 targ_min_ns = 1;
const volatile __u64 targ_max_ns = ~0ULL;
const volatile __u8 targ_user_stacks = 1;
const volatile __u8 targ_waker = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct offcpu_start);
} kd_oc_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct offcpu_waker);
} kd_oc_wakers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct offcpu_key);
	__type(value, struct offcpu_val);
} kd_oc_sums SEC(".maps");

KD_STACK_MAPS(kd_oc);
KD_GEN_MAP(kd_oc_ctl);

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SCHED_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} kd_oc_stats SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&kd_oc_stats, &idx);
	if (v)
		(*v)++;
}

static __always_inline __u64 stack(void *ctx, __u64 flags)
{
	long err;
	__u64 k = kd_stack_capture(ctx, &kd_oc_scratch, &kd_oc_stacks, flags, &err);
	if (!k && err != -14)  /* -EFAULT: no user stack (kernel thread): nothing was lost */
		stat_inc(SCHED_STAT_STACK_LOST);
	return k;
}

static __always_inline void blocked(void *ctx, bool preempt, struct task_struct *prev, unsigned int prev_state)
{
	int runnable = preempt || prev_state == 0;
	if (runnable ? !targ_preempted : !(prev_state & targ_state_mask))
		return;
	__u32 tid = BPF_CORE_READ(prev, pid);
	if (!tid || !kd_wanted_task(prev))
		return;
	struct offcpu_start s = {};
	s.ts = bpf_ktime_get_ns();
	s.kstack = stack(ctx, 0);
	if (targ_user_stacks && BPF_CORE_READ(prev, mm))
		s.ustack = stack(ctx, BPF_F_USER_STACK);
	if (bpf_map_update_elem(&kd_oc_start, &tid, &s, BPF_ANY))
		stat_inc(SCHED_STAT_START_FULL);
}

static __always_inline void resumed(struct task_struct *next)
{
	__u32 tid = BPF_CORE_READ(next, pid);
	struct offcpu_start *s = bpf_map_lookup_elem(&kd_oc_start, &tid);
	if (!s)
		return;
	__u64 delta = bpf_ktime_get_ns() - s->ts;
	struct offcpu_key key = {};
	key.kstack = s->kstack;
	key.ustack = s->ustack;
	bpf_map_delete_elem(&kd_oc_start, &tid);
	if (targ_waker) {
		struct offcpu_waker *w = bpf_map_lookup_elem(&kd_oc_wakers, &tid);
		if (w) {
			key.waker_kstack = w->kstack;
			key.waker_tgid = w->tgid;
			__builtin_memcpy(key.waker_comm, w->comm, sizeof(key.waker_comm));
			bpf_map_delete_elem(&kd_oc_wakers, &tid);
		}
	}
	if ((__s64)delta < 0 || delta < targ_min_ns || delta > targ_max_ns)
		return;
	key.gen = kd_generation(&kd_oc_ctl);
	key.tgid = BPF_CORE_READ(next, tgid);
	key.pid = tid;
	key.cgroup = kd_task_cgroup_id(next);
	BPF_CORE_READ_STR_INTO(&key.comm, next, comm);
	struct offcpu_val *v = bpf_map_lookup_elem(&kd_oc_sums, &key);
	if (!v) {
		struct offcpu_val zero = {};
		bpf_map_update_elem(&kd_oc_sums, &key, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&kd_oc_sums, &key);
		if (!v) {
			stat_inc(SCHED_STAT_HIST_FULL);
			return;
		}
	}
	__sync_fetch_and_add(&v->total_ns, delta);
	__sync_fetch_and_add(&v->count, 1);
}

static __always_inline void woken(void *ctx, struct task_struct *p)
{
	if (!targ_waker)
		return;
	__u32 tid = BPF_CORE_READ(p, pid);
	if (!bpf_map_lookup_elem(&kd_oc_start, &tid))
		return;                    /* not a blocked task we follow */
	struct offcpu_waker w = {};
	w.kstack = stack(ctx, 0);
	w.tgid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(&w.comm, sizeof(w.comm));
	bpf_map_update_elem(&kd_oc_wakers, &tid, &w, BPF_ANY);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(kd_oc_raw_switch, bool preempt, struct task_struct *prev, struct task_struct *next, unsigned int prev_state)
{
	blocked(ctx, preempt, prev, prev_state);
	resumed(next);
	return 0;
}
SEC("raw_tp/sched_wakeup")
int BPF_PROG(kd_oc_raw_wakeup, struct task_struct *p) { woken(ctx, p); return 0; }

SEC("tp_btf/sched_switch")
int BPF_PROG(kd_oc_btf_switch, bool preempt, struct task_struct *prev, struct task_struct *next, unsigned int prev_state)
{
	blocked(ctx, preempt, prev, prev_state);
	resumed(next);
	return 0;
}
SEC("tp_btf/sched_wakeup")
int BPF_PROG(kd_oc_btf_wakeup, struct task_struct *p) { woken(ctx, p); return 0; }

char LICENSE[] SEC("license") = "GPL";
