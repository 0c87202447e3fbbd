// SPDX-License-Identifier: GPL-2.0
// ABI between reclaim.bpf.c and src/KernelDebug.Core/Bpf/Tools/MemoryReclaim.cs; struct reclaim_key is mirrored by
// ReclaimKey in Tools/ToolAbi.cs (BpfAbiTests checks it against the BTF).
#ifndef KD_RECLAIM_H
#define KD_RECLAIM_H

#define RECLAIM_DIRECT 0                   /* the page allocator reclaiming in the allocating task */
#define RECLAIM_MEMCG 1                    /* a memory cgroup at its limit reclaiming in the charging task */
#define RECLAIM_MEMCG_SOFT 2               /* v1 soft-limit reclaim */
#define RECLAIM_COMPACTION 3               /* direct compaction in the allocating task */
#define RECLAIM_KINDS 4

#define RECLAIM_BY_NONE 0
#define RECLAIM_BY_PROCESS 1
#define RECLAIM_BY_CGROUP 2

// Key of kd_rc_hist and kd_rc_pages: gen of kd_gen.bpf.h, the kind, and the group (tgid + comm by process;
// cgroup id by process or cgroup).
struct reclaim_key {
	__u32 gen;
	__u32 kind;
	__u32 tgid;
	__u32 pad;
	__u64 cgroup;
	char comm[16];
};

#define RECLAIM_STAT_KSWAPD_WAKEUPS 0      /* wakeup_kswapd calls (machine-wide, every task) */
#define RECLAIM_STAT_START_FULL 1          /* a begin not recorded: the table of tasks was full */
#define RECLAIM_STAT_HIST_FULL 2           /* a stall not counted: the table of groups was full */
#define RECLAIM_STAT_COUNT 3

#endif
