// SPDX-License-Identifier: GPL-2.0
// Engine self-test: streams one ring-buffer event per getppid() of one process, counting events the ring had no
// room for. Proves the ring-buffer reader and its lost-sample accounting on the live kernel (SelfTest tests).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

const volatile __u32 targ_tgid = 0;
const volatile __s64 targ_id = 110;        /* getppid on x86-64 */

struct kd_st_event {
	__u64 seq;
	__u32 tid;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);             /* small on purpose: the test overflows it */
} kd_st_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} kd_st_lost SEC(".maps");

__u64 seq = 0;

SEC("raw_tp/sys_enter")
int BPF_PROG(kd_st_enter, struct pt_regs *regs, long id)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if ((pid_tgid >> 32) != targ_tgid || id != targ_id)
		return 0;
	struct kd_st_event *e = bpf_ringbuf_reserve(&kd_st_ring, sizeof(*e), 0);
	if (!e) {
		__u32 zero = 0;
		__u64 *lost = bpf_map_lookup_elem(&kd_st_lost, &zero);
		if (lost)
			(*lost)++;
		return 0;
	}
	e->seq = __sync_fetch_and_add(&seq, 1);
	e->tid = (__u32)pid_tgid;
	e->pad = 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
