// SPDX-License-Identifier: GPL-2.0
// ABI between lockcont.bpf.c and src/KernelDebug.Core/Bpf/Tools/LockContentionMeter.cs; struct lk_key is mirrored by LkKey in Tools/ToolAbi.cs (BpfAbiTests checks it against the BTF).
#ifndef KD_LOCKCONT_H
#define KD_LOCKCONT_H

#define LK_MAX_TGIDS 16
#define LK_STACK_DEPTH 32

// Key of kd_lk_hist. gen: which half of the double buffer (kd_lk_ctl); lock: the lock's address, 0 when grouped by
// caller; stack_id: kernel stack id in kd_lk_stacks when grouped by caller, else -1; flags: LCB_F_* of the wait
// (include/trace/events/lock.h); tgid: 0 unless grouped by process.
struct lk_key {
	__u32 gen;
	__u32 flags;
	__u64 lock;
	__s32 stack_id;
	__u32 tgid;
};

// A thread's wait in progress, keyed by tid.
struct lk_wait {
	__u64 ts;
	__u64 lock;
	__u32 flags;
	__s32 stack_id;
};

#define LK_STAT_MISSED_BEGIN 0             /* contention_end without its begin (waiting at attach) */
#define LK_STAT_WAIT_FULL 1                /* begin not recorded: kd_lk_wait was full */
#define LK_STAT_STACK_LOST 2               /* stack not recorded: kd_lk_stacks full or collision */
#define LK_STAT_COUNT 3

#endif
