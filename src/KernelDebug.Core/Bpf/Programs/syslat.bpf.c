// SPDX-License-Identifier: GPL-2.0
// Measure-SyscallLatency: per-syscall (optionally per-process) log-linear latency histograms, errno counts.
// Three program pairs for the same logic; the loader keeps the one the kernel supports best (tp_btf, raw_tp,
// tracepoint) and turns autoload off for the others.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "kd_hist.bpf.h"
#include "kd_filter.bpf.h"
#include "syslat.h"

/* Filters, set from user space between open and load (.rodata). */
const volatile __u8 targ_filter_ids = 0;
const volatile __u64 targ_ids[SL_MAX_IDS / 64] = {};
const volatile __u8 targ_failed_only = 0;
const volatile __s32 targ_errno = 0;       /* positive errno; 0 = any */
const volatile __u8 targ_per_process = 0;  /* key by tgid + comm */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);                /* tid */
	__type(value, struct sl_start);
} kd_sl_start SEC(".maps");

/* tp_btf keeps the entry in task-local storage: no hashing, no delete per call. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sl_start);
} kd_sl_task SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, struct sl_key);
	__type(value, struct kd_hist);
} kd_sl_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, struct sl_key);
	__type(value, __u64);
} kd_sl_errs SEC(".maps");

/* [0] = generation the programs write; user space flips it and then drains the other one. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} kd_sl_ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SL_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} kd_sl_stats SEC(".maps");


static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&kd_sl_stats, &idx);
	if (v)
		(*v)++;
}

/* True when the filters in .rodata want this call. */
static __always_inline int wanted(long id)
{
	if (!kd_wanted_current())
		return 0;
	if (targ_filter_ids) {
		if (id < 0 || id >= SL_MAX_IDS)
			return 0;
		if (!(targ_ids[id >> 6] & (1ULL << (id & 63))))
			return 0;
	}
	return 1;
}

static __always_inline int on_enter(long id)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	if (!wanted(id))
		return 0;
	struct sl_start s = { .ts = bpf_ktime_get_ns(), .id = id };
	if (bpf_map_update_elem(&kd_sl_start, &tid, &s, BPF_ANY))
		stat_inc(SL_STAT_START_FULL);
	return 0;
}

static __always_inline void dropped_exit(void)
{
	/* Only count drops when every call is traced; with filters, unmatched exits are expected. */
	if (!kd_filter_active() && !targ_filter_ids)
		stat_inc(SL_STAT_DROPPED_EXITS);
}

static __always_inline int account(__u64 delta, __u32 id, long ret);

static __always_inline int on_exit(long ret)
{
	stat_inc(SL_STAT_EXITS);
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct sl_start *s = bpf_map_lookup_elem(&kd_sl_start, &tid);
	if (!s) {
		dropped_exit();
		return 0;
	}
	__u64 delta = bpf_ktime_get_ns() - s->ts;
	__u32 id = (__u32)s->id;
	bpf_map_delete_elem(&kd_sl_start, &tid);
	return account(delta, id, ret);
}

static __always_inline int task_enter(long id)
{
	if (!wanted(id))
		return 0;
	struct sl_start *s = bpf_task_storage_get(&kd_sl_task, bpf_get_current_task_btf(), 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!s) {
		stat_inc(SL_STAT_START_FULL);
		return 0;
	}
	s->ts = bpf_ktime_get_ns();
	s->id = id;
	return 0;
}

static __always_inline int task_exit(long ret)
{
	stat_inc(SL_STAT_EXITS);
	struct sl_start *s = bpf_task_storage_get(&kd_sl_task, bpf_get_current_task_btf(), 0, 0);
	if (!s || !s->ts) {
		dropped_exit();
		return 0;
	}
	__u64 delta = bpf_ktime_get_ns() - s->ts;
	s->ts = 0;
	return account(delta, (__u32)s->id, ret);
}

static __always_inline int account(__u64 delta, __u32 id, long ret)
{
	int failed = ret < 0 && ret >= -4095;
	if (targ_failed_only && !failed)
		return 0;
	if (targ_errno && (!failed || -ret != targ_errno))
		return 0;

	__u32 zero = 0;
	__u32 *gen = bpf_map_lookup_elem(&kd_sl_ctl, &zero);
	struct sl_key key = {};
	key.gen = gen ? *gen : 0;
	key.id = id;
	if (targ_per_process) {
		key.tgid = bpf_get_current_pid_tgid() >> 32;
		bpf_get_current_comm(&key.comm, sizeof(key.comm));
	}

	struct kd_hist *h = bpf_map_lookup_elem(&kd_sl_hist, &key);
	if (!h) {
		bpf_map_update_elem(&kd_sl_hist, &key, &kd_zero_hist, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&kd_sl_hist, &key);
		if (!h)
			return 0;
	}
	kd_hist_add(h, delta, failed);

	if (failed) {
		key.err = (__s32)-ret;
		__u64 one = 1, *n = bpf_map_lookup_elem(&kd_sl_errs, &key);
		if (n)
			(*n)++;
		else
			bpf_map_update_elem(&kd_sl_errs, &key, &one, BPF_NOEXIST);
	}
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(kd_sl_btf_enter, struct pt_regs *regs, long id) { return task_enter(id); }

SEC("tp_btf/sys_exit")
int BPF_PROG(kd_sl_btf_exit, struct pt_regs *regs, long ret) { return task_exit(ret); }

SEC("raw_tp/sys_enter")
int BPF_PROG(kd_sl_raw_enter, struct pt_regs *regs, long id) { return task_enter(id); }

SEC("raw_tp/sys_exit")
int BPF_PROG(kd_sl_raw_exit, struct pt_regs *regs, long ret) { return task_exit(ret); }

/* The raw_syscalls tracepoint records (events/raw_syscalls/sys_enter and sys_exit, format files), spelled out instead of vmlinux.h's CO-RE
 * types: the object then has no CO-RE relocation, so libbpf parses the kernel's BTF only for tp_btf. */
struct sl_tp_enter { __u64 common; long id; unsigned long args[6]; };
struct sl_tp_exit { __u64 common; long id; long ret; };

SEC("tracepoint/raw_syscalls/sys_enter")
int kd_sl_tp_enter(struct sl_tp_enter *ctx) { return on_enter(ctx->id); }

SEC("tracepoint/raw_syscalls/sys_exit")
int kd_sl_tp_exit(struct sl_tp_exit *ctx) { return on_exit(ctx->ret); }

char LICENSE[] SEC("license") = "GPL";
