// SPDX-License-Identifier: GPL-2.0
// ABI between the scheduler tools (runqlat.bpf.c, cpudist.bpf.c, offcpu.bpf.c) and
// src/KernelDebug.Core/Bpf/Tools/SchedAbi.cs, whose [StructLayout] types a test checks against the objects' BTF.
#ifndef KD_SCHED_H
#define KD_SCHED_H

// Grouping of the histogram tools (targ_group).
#define SCHED_BY_NONE 0
#define SCHED_BY_PROCESS 1
#define SCHED_BY_THREAD 2
#define SCHED_BY_CPU 3
#define SCHED_BY_CGROUP 4

// Key of a histogram (run-queue latency, time slices): gen of kd_gen.bpf.h, then the group.
struct sched_hist_key {
	__u32 gen;
	__u32 id;                          /* tgid, tid or CPU by targ_group; 0 when not grouped */
	__u64 cgroup;                      /* cgroup id (kernfs inode) when grouped by process or cgroup */
	char comm[16];
};

// Key of an off-CPU sum: who blocked where, and (with waker) who woke it where.
struct offcpu_key {
	__u32 gen;
	__u32 tgid;
	__u32 pid;
	__u32 waker_tgid;                  /* 0: waker not recorded */
	__u64 kstack;                      /* keys in kd_oc_stacks (kd_stack.bpf.h); 0: none */
	__u64 ustack;
	__u64 waker_kstack;
	__u64 cgroup;
	char comm[16];
	char waker_comm[16];
};

struct offcpu_val {
	__u64 total_ns;
	__u64 count;
};

// A blocked task, keyed by tid.
struct offcpu_start {
	__u64 ts;
	__u64 kstack;
	__u64 ustack;
};

// Who woke a blocked task, keyed by the woken tid.
struct offcpu_waker {
	__u64 kstack;
	__u32 tgid;
	__u32 pad;
	char comm[16];
};

#ifdef __bpf__
// The maps of a scheduler histogram tool: <p>_start (tid -> timestamp), <p>_hist (per-CPU kd_hist per group),
// <p>_ctl (generation) and <p>_stats (SCHED_STAT_* counters), plus stat_inc().
#define SCHED_HIST_MAPS(p)                                                  \
	struct {                                                            \
		__uint(type, BPF_MAP_TYPE_HASH);                            \
		__uint(max_entries, 65536);                                 \
		__type(key, __u32);                                         \
		__type(value, __u64);                                       \
	} p##_start SEC(".maps");                                           \
	struct {                                                            \
		__uint(type, BPF_MAP_TYPE_PERCPU_HASH);                     \
		__uint(map_flags, BPF_F_NO_PREALLOC);                       \
		__uint(max_entries, 16384);                                 \
		__type(key, struct sched_hist_key);                         \
		__type(value, struct kd_hist);                              \
	} p##_hist SEC(".maps");                                            \
	KD_GEN_MAP(p##_ctl);                                                \
	struct {                                                            \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);                    \
		__uint(max_entries, SCHED_STAT_COUNT);                      \
		__type(key, __u32);                                         \
		__type(value, __u64);                                       \
	} p##_stats SEC(".maps");                                           \
	static __always_inline void stat_inc(__u32 idx)                     \
	{                                                                   \
		__u64 *v = bpf_map_lookup_elem(&p##_stats, &idx);           \
		if (v)                                                      \
			(*v)++;                                             \
	}

// Fills the group of a histogram key for task t (runqlat.bpf.c, cpudist.bpf.c); needs kd_filter.bpf.h.
static __always_inline void sched_group_key(struct sched_hist_key *key, struct task_struct *t, __u8 group)
{
	switch (group) {
	case SCHED_BY_PROCESS:
		key->id = BPF_CORE_READ(t, tgid);
		key->cgroup = kd_task_cgroup_id(t);
		BPF_CORE_READ_STR_INTO(&key->comm, t, group_leader, comm);
		break;
	case SCHED_BY_THREAD:
		key->id = BPF_CORE_READ(t, pid);
		key->cgroup = kd_task_cgroup_id(t);
		BPF_CORE_READ_STR_INTO(&key->comm, t, comm);
		break;
	case SCHED_BY_CPU:
		key->id = bpf_get_smp_processor_id();
		break;
	case SCHED_BY_CGROUP:
		key->cgroup = kd_task_cgroup_id(t);
		break;
	}
}
#endif

#define SCHED_STAT_START_FULL 0            /* a start time not recorded: the table of tasks was full */
#define SCHED_STAT_HIST_FULL 1             /* a value not counted: the table of groups was full */
#define SCHED_STAT_STACK_LOST 2            /* a stack not recorded: the stack table was full */
#define SCHED_STAT_COUNT 3

#endif
