// SPDX-License-Identifier: GPL-2.0
// Trace-Signal: one event per signal generated (signal:signal_generate), with sender, target, signal, si_code and
// the kernel's result (delivered, ignored, already pending, ...), like sigsnoop. The filter applies to the sender,
// or with targ_by_target to the target.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "kd_filter.bpf.h"
#include "kd_event.bpf.h"
#include "events.h"

const volatile __u8 targ_by_target = 0;
const volatile __u64 targ_signals = 0;     /* bit n-1 set: only signal n; 0 = every signal */
const volatile __u8 targ_failed = 0;       /* only signals not delivered (result != 0) */

KD_EVENT_MAPS(kd_sg, 256 * 1024);

static __always_inline void generated(int sig, struct kernel_siginfo *info, struct task_struct *task, int group, int result)
{
	if (targ_signals && (sig < 1 || sig > 64 || !(targ_signals & (1ULL << (sig - 1)))))
		return;
	if (targ_failed && result == 0)
		return;
	struct task_struct *cur = (struct task_struct *)bpf_get_current_task();
	if (!(targ_by_target ? kd_wanted_task(task) : kd_wanted_current()))
		return;
	struct signal_event *e = KD_EVENT_RESERVE(kd_sg, struct signal_event);
	if (!e)
		return;
	__u64 id = bpf_get_current_pid_tgid();
	e->ts = bpf_ktime_get_ns();
	e->cgroup = kd_task_cgroup_id(cur);
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->target_pid = BPF_CORE_READ(task, tgid);
	e->target_tid = BPF_CORE_READ(task, pid);
	e->sig = sig;
	/* SEND_SIG_NOINFO (0) and SEND_SIG_PRIV (1) are not pointers: user and kernel. */
	if ((unsigned long)info == 0)
		e->code = 0;
	else if ((unsigned long)info == 1)
		e->code = 0x80;
	else
		e->code = BPF_CORE_READ(info, si_code);
	e->group = group;
	e->result = result;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	BPF_CORE_READ_STR_INTO(&e->target_comm, task, comm);
	bpf_ringbuf_submit(e, 0);
}

SEC("raw_tp/signal_generate")
int BPF_PROG(kd_sg_raw_generate, int sig, struct kernel_siginfo *info, struct task_struct *task, int group, int result)
{ generated(sig, info, task, group, result); return 0; }

SEC("tp_btf/signal_generate")
int BPF_PROG(kd_sg_btf_generate, int sig, struct kernel_siginfo *info, struct task_struct *task, int group, int result)
{ generated(sig, info, task, group, result); return 0; }

char LICENSE[] SEC("license") = "GPL";

/* Referenced so the ABI struct is in the BTF the layout test reads. */
struct signal_event *kd_sg_abi __attribute__((unused));
