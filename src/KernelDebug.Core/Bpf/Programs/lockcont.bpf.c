// SPDX-License-Identifier: GPL-2.0
// Measure-LockContention: how long threads wait for contended kernel locks (spinlocks, rwlocks, mutexes, rwsems,
// rt-mutexes, per-CPU rwsems), from lock:contention_begin / lock:contention_end, per lock address or per calling
// kernel stack, in log-linear histograms. Three program pairs; the loader keeps one.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "kd_filter.bpf.h"
#include "kd_hist.bpf.h"
#include "lockcont.h"

const volatile __u8 targ_by_caller = 0;
const volatile __u8 targ_by_process = 0;
const volatile __u64 targ_min_ns = 0;      /* waits shorter than this are not counted */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);                /* tid */
	__type(value, struct lk_wait);
} kd_lk_wait SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, LK_STACK_DEPTH * sizeof(__u64));
} kd_lk_stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, struct lk_key);
	__type(value, struct kd_hist);
} kd_lk_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} kd_lk_ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LK_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} kd_lk_stats SEC(".maps");


static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&kd_lk_stats, &idx);
	if (v)
		(*v)++;
}

static __always_inline int on_begin(void *ctx, __u64 lock, __u32 flags)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	if (!kd_wanted_current())
		return 0;
	struct lk_wait *w = bpf_map_lookup_elem(&kd_lk_wait, &tid);
	/* A mutex or rwsem may report begin twice for one wait (optimistic spin, then sleep): keep the first time. */
	if (w && w->lock == lock) {
		w->flags |= flags;
		return 0;
	}
	struct lk_wait n = { .ts = bpf_ktime_get_ns(), .lock = lock, .flags = flags, .stack_id = -1 };
	if (targ_by_caller) {
		n.stack_id = bpf_get_stackid(ctx, &kd_lk_stacks, 0);
		if (n.stack_id < 0)
			stat_inc(LK_STAT_STACK_LOST);
	}
	if (bpf_map_update_elem(&kd_lk_wait, &tid, &n, BPF_ANY))
		stat_inc(LK_STAT_WAIT_FULL);
	return 0;
}

static __always_inline int on_end(__u64 lock, int ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct lk_wait *w = bpf_map_lookup_elem(&kd_lk_wait, &tid);
	if (!w) {
		if (kd_wanted_current())
			stat_inc(LK_STAT_MISSED_BEGIN);
		return 0;
	}
	if (w->lock != lock) {
		/* An end for another lock (a nested wait the begin of which we missed): drop ours, it cannot be paired. */
		bpf_map_delete_elem(&kd_lk_wait, &tid);
		return 0;
	}
	__u64 delta = bpf_ktime_get_ns() - w->ts;
	struct lk_key key = {};
	key.flags = w->flags;
	key.stack_id = w->stack_id;
	key.lock = targ_by_caller ? 0 : lock;
	bpf_map_delete_elem(&kd_lk_wait, &tid);
	if (delta < targ_min_ns)
		return 0;
	__u32 zero = 0;
	__u32 *gen = bpf_map_lookup_elem(&kd_lk_ctl, &zero);
	key.gen = gen ? *gen : 0;
	if (targ_by_process)
		key.tgid = pid_tgid >> 32;

	struct kd_hist *h = bpf_map_lookup_elem(&kd_lk_hist, &key);
	if (!h) {
		bpf_map_update_elem(&kd_lk_hist, &key, &kd_zero_hist, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&kd_lk_hist, &key);
		if (!h)
			return 0;
	}
	kd_hist_add(h, delta, ret != 0);
	return 0;
}

SEC("tp_btf/contention_begin")
int BPF_PROG(kd_lk_btf_begin, void *lock, unsigned int flags) { return on_begin(ctx, (__u64)lock, flags); }

SEC("tp_btf/contention_end")
int BPF_PROG(kd_lk_btf_end, void *lock, int ret) { return on_end((__u64)lock, ret); }

SEC("raw_tp/contention_begin")
int BPF_PROG(kd_lk_raw_begin, void *lock, unsigned int flags) { return on_begin(ctx, (__u64)lock, flags); }

SEC("raw_tp/contention_end")
int BPF_PROG(kd_lk_raw_end, void *lock, int ret) { return on_end((__u64)lock, ret); }

/* The lock tracepoint records (events/lock/contention_begin and contention_end, format files), spelled out so the
 * object needs no CO-RE relocation for this variant. */
struct lk_tp_begin { __u64 common; __u64 lock_addr; __u32 flags; };
struct lk_tp_end { __u64 common; __u64 lock_addr; __s32 ret; };

SEC("tracepoint/lock/contention_begin")
int kd_lk_tp_begin(struct lk_tp_begin *ctx) { return on_begin(ctx, ctx->lock_addr, ctx->flags); }

SEC("tracepoint/lock/contention_end")
int kd_lk_tp_end(struct lk_tp_end *ctx) { return on_end(ctx->lock_addr, ctx->ret); }

char LICENSE[] SEC("license") = "GPL";
