// SPDX-License-Identifier: GPL-2.0
// Trace-OomKill: one event per OOM kill from oom:mark_victim (the kernel marks the victim just before it logs
// "Killed process"), with the victim, the task whose allocation triggered the kill (current) and the victim's
// memory, like libbpf-tools' oomkill without its kprobe on oom_kill_process.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "kd_filter.bpf.h"
#include "kd_event.bpf.h"
#include "events.h"

KD_EVENT_MAPS(kd_oom, 64 * 1024);

static __always_inline void marked(struct task_struct *t, __u32 uid)
{
	if (!kd_wanted_task(t))
		return;
	struct oom_event *e = KD_EVENT_RESERVE(kd_oom, struct oom_event);
	if (!e)
		return;
	__u64 cur = bpf_get_current_pid_tgid();
	struct mm_struct *mm = BPF_CORE_READ(t, mm);
	e->ts = bpf_ktime_get_ns();
	e->cgroup = kd_task_cgroup_id(t);
	e->total_vm = mm ? BPF_CORE_READ(mm, total_vm) : 0;
	e->file_rss = mm ? BPF_CORE_READ(mm, rss_stat[0].count) : 0;
	e->anon_rss = mm ? BPF_CORE_READ(mm, rss_stat[1].count) : 0;
	e->shmem_rss = mm ? BPF_CORE_READ(mm, rss_stat[3].count) : 0;
	e->pid = BPF_CORE_READ(t, tgid);
	e->tid = BPF_CORE_READ(t, pid);
	e->trigger_pid = cur >> 32;
	e->trigger_tid = (__u32)cur;
	e->uid = uid;
	e->oom_score_adj = BPF_CORE_READ(t, signal, oom_score_adj);
	BPF_CORE_READ_STR_INTO(&e->comm, t, comm);
	bpf_get_current_comm(&e->trigger_comm, sizeof(e->trigger_comm));
	bpf_ringbuf_submit(e, 0);
}

SEC("raw_tp/mark_victim")
int BPF_PROG(kd_oom_raw_victim, struct task_struct *t, __u32 uid) { marked(t, uid); return 0; }

SEC("tp_btf/mark_victim")
int BPF_PROG(kd_oom_btf_victim, struct task_struct *t, __u32 uid) { marked(t, uid); return 0; }

char LICENSE[] SEC("license") = "GPL";

/* Referenced so the ABI struct is in the BTF the layout test reads. */
struct oom_event *kd_oom_abi __attribute__((unused));
