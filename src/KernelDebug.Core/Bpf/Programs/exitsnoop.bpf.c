// SPDX-License-Identifier: GPL-2.0
// Trace-ProcessExit: one event per process exit (sched_process_exit of the last thread; every thread with
// targ_threads), with the exit code or signal and the lifetime from the task's start time, like exitsnoop.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "kd_filter.bpf.h"
#include "kd_event.bpf.h"
#include "events.h"

const volatile __u8 targ_threads = 0;

KD_EVENT_MAPS(kd_xt, 256 * 1024);

static __always_inline void exited(struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid), tid = BPF_CORE_READ(p, pid);
	/* The process ends with its last thread: the signal's live count is then zero (group_dead). */
	if (!targ_threads && BPF_CORE_READ(p, signal, live.counter) != 0)
		return;
	if (!kd_wanted_task(p))
		return;
	struct exit_event *e = KD_EVENT_RESERVE(kd_xt, struct exit_event);
	if (!e)
		return;
	e->ts = bpf_ktime_get_ns();
	e->start_time = BPF_CORE_READ(p, start_time);
	e->cgroup = kd_task_cgroup_id(p);
	e->pid = tgid;
	e->tid = tid;
	e->ppid = BPF_CORE_READ(p, real_parent, tgid);
	e->exit_code = BPF_CORE_READ(p, exit_code);
	BPF_CORE_READ_STR_INTO(&e->comm, p, comm);
	bpf_ringbuf_submit(e, 0);
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(kd_xt_raw_exit, struct task_struct *p) { exited(p); return 0; }

SEC("tp_btf/sched_process_exit")
int BPF_PROG(kd_xt_btf_exit, struct task_struct *p) { exited(p); return 0; }

char LICENSE[] SEC("license") = "GPL";

/* Referenced so the ABI struct is in the BTF the layout test reads. */
struct exit_event *kd_xt_abi __attribute__((unused));
