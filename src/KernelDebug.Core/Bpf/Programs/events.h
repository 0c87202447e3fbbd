// SPDX-License-Identifier: GPL-2.0
// ABI between the event tools (execsnoop.bpf.c, exitsnoop.bpf.c, sigsnoop.bpf.c) and
// src/KernelDebug.Core/Bpf/Tools/ProcessEvents.cs, whose [StructLayout] types a test checks against the objects' BTF.
#ifndef KD_EVENTS_H
#define KD_EVENTS_H

#define EXEC_ARGS_MAX 4096                 /* bytes of the argument area kept (NUL-separated argv) */
#define EXEC_PATH_MAX 512

struct exec_event {
	__u64 ts;                          /* CLOCK_MONOTONIC ns */
	__u64 cgroup;
	__u32 pid;                         /* tgid after the exec */
	__u32 tid;
	__u32 old_tid;                     /* the thread that called exec (differs when a non-leader thread execs) */
	__u32 ppid;
	__u32 uid;
	__u32 args_size;                   /* bytes in args; 0 when the argument area could not be read */
	__u32 args_total;                  /* size of the whole argument area (args_size < args_total: truncated) */
	__u32 pad;
	char comm[16];
	char filename[EXEC_PATH_MAX];
	char args[EXEC_ARGS_MAX];
};

struct exit_event {
	__u64 ts;
	__u64 start_time;                  /* task->start_time, CLOCK_MONOTONIC ns */
	__u64 cgroup;
	__u32 pid;
	__u32 tid;
	__u32 ppid;
	__u32 exit_code;                   /* task->exit_code: status << 8, or the signal (| 0x80 with a core dump) */
	char comm[16];
};

struct signal_event {
	__u64 ts;
	__u64 cgroup;                      /* the sender's */
	__u32 pid;                         /* sender tgid */
	__u32 tid;
	__u32 target_pid;                  /* target tgid */
	__u32 target_tid;
	__s32 sig;
	__s32 code;                        /* si_code (SI_USER 0, SI_KERNEL 0x80, SI_TKILL -6, ...) */
	__s32 group;                       /* 1: sent to the thread group */
	__s32 result;                      /* TRACE_SIGNAL_*: delivered, ignored, already pending, overflow, lose info */
	char comm[16];
	char target_comm[16];
};

// One OOM kill (oomkill.bpf.c, oom:mark_victim): the victim, the task whose allocation triggered it (current), and
// the victim's memory as the mm counters hold it (pages; approximate per-CPU sums, the kernel log's report is exact).
struct oom_event {
	__u64 ts;
	__u64 cgroup;                      /* the victim's */
	__u64 total_vm;                    /* pages */
	__s64 file_rss;                    /* pages: MM_FILEPAGES, MM_ANONPAGES, MM_SHMEMPAGES */
	__s64 anon_rss;
	__s64 shmem_rss;
	__u32 pid;                         /* victim tgid */
	__u32 tid;
	__u32 trigger_pid;
	__u32 trigger_tid;
	__u32 uid;
	__s32 oom_score_adj;
	char comm[16];
	char trigger_comm[16];
};

#endif
