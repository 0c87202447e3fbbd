// SPDX-License-Identifier: GPL-2.0
// Measure-KernelCpuProfile: a perf_event program run by a per-CPU software clock (perf_event_open, -Frequency) that
// counts samples per process and kernel + user stack, like perf record -g -a.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "kd_filter.bpf.h"
#include "profile.h"

const volatile __u8 targ_kernel_only = 0;
const volatile __u8 targ_include_idle = 0;

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, PF_STACK_DEPTH * sizeof(__u64));
} kd_pf_stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, struct pf_key);
	__type(value, __u64);
} kd_pf_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} kd_pf_ctl SEC(".maps");

SEC("perf_event")
int kd_pf_sample(struct bpf_perf_event_data *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	if (!targ_include_idle && (__u32)pid_tgid == 0)
		return 0;
	if (!kd_wanted_current())
		return 0;
	__u32 zero = 0;
	__u32 *gen = bpf_map_lookup_elem(&kd_pf_ctl, &zero);
	struct pf_key key = {};
	key.gen = gen ? *gen : 0;
	key.tgid = tgid;
	bpf_get_current_comm(&key.comm, sizeof(key.comm));
	key.kstack = bpf_get_stackid(ctx, &kd_pf_stacks, 0);
	key.ustack = targ_kernel_only ? -1 : bpf_get_stackid(ctx, &kd_pf_stacks, BPF_F_USER_STACK);
	if (targ_kernel_only && key.kstack < 0)
		return 0;
	__u64 one = 1, *n = bpf_map_lookup_elem(&kd_pf_counts, &key);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&kd_pf_counts, &key, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
