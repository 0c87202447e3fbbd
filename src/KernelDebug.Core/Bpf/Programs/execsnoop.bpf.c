// SPDX-License-Identifier: GPL-2.0
// Trace-ProcessExec: one event per successful exec (sched_process_exec, past the point of no return), with the
// filename the kernel opened and the new argument area read from the task's mm (arg_start..arg_end), like execsnoop.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "kd_filter.bpf.h"
#include "kd_event.bpf.h"
#include "events.h"

KD_EVENT_MAPS(kd_ex, 1024 * 1024);

static __always_inline void exec(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	if (!kd_wanted_task(p))
		return;
	struct exec_event *e = KD_EVENT_RESERVE(kd_ex, struct exec_event);
	if (!e)
		return;
	e->ts = bpf_ktime_get_ns();
	e->cgroup = kd_task_cgroup_id(p);
	e->pid = BPF_CORE_READ(p, tgid);
	e->tid = BPF_CORE_READ(p, pid);
	e->old_tid = old_pid;
	e->ppid = BPF_CORE_READ(p, real_parent, tgid);
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->pad = 0;
	BPF_CORE_READ_STR_INTO(&e->comm, p, comm);
	const char *fn = BPF_CORE_READ(bprm, filename);
	if (bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), fn) < 0)
		e->filename[0] = 0;
	unsigned long start = BPF_CORE_READ(p, mm, arg_start);
	unsigned long end = BPF_CORE_READ(p, mm, arg_end);
	__u64 total = end > start ? end - start : 0;
	__u64 n = total < EXEC_ARGS_MAX ? total : EXEC_ARGS_MAX;
	e->args_total = total;
	e->args_size = 0;
	if (n > 0 && n <= EXEC_ARGS_MAX && bpf_probe_read_user(e->args, n, (void *)start) == 0)
		e->args_size = n;
	bpf_ringbuf_submit(e, 0);
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(kd_ex_raw_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{ exec(p, old_pid, bprm); return 0; }

SEC("tp_btf/sched_process_exec")
int BPF_PROG(kd_ex_btf_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{ exec(p, old_pid, bprm); return 0; }

char LICENSE[] SEC("license") = "GPL";

/* Referenced so the ABI struct is in the BTF the layout test reads. */
struct exec_event *kd_ex_abi __attribute__((unused));
