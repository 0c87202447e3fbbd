// SPDX-License-Identifier: GPL-2.0
// ABI between syslat.bpf.c and src/KernelDebug.Core/Bpf/SyscallLatencyMeter.cs; struct sl_key is mirrored by SlKey in Tools/ToolAbi.cs (BpfAbiTests checks it against the BTF).
#ifndef KD_SYSLAT_H
#define KD_SYSLAT_H

#define SL_MAX_TGIDS 16
#define SL_MAX_IDS 512                     /* syscall ids covered by the filter bitmap */
#define SL_COMM_LEN 16

// Key of kd_sl_hist and kd_sl_errs. gen: which half of the double buffer (see kd_sl_ctl); tgid and comm are zero
// unless the session groups or filters by process; err is zero in kd_sl_hist.
struct sl_key {
	__u32 gen;
	__u32 tgid;
	__u32 id;
	__s32 err;
	char comm[SL_COMM_LEN];
};

struct sl_start {
	__u64 ts;
	__u64 id;
};

// Indexes of the kd_sl_stats per-CPU counters.
#define SL_STAT_DROPPED_EXITS 0            /* exit seen without its entry (in flight at attach) */
#define SL_STAT_START_FULL 1               /* entry not recorded: kd_sl_start was full */
#define SL_STAT_EXITS 2                    /* every exit program run: scales sampled BPF statistics to the whole interval */
#define SL_STAT_COUNT 3

#endif
