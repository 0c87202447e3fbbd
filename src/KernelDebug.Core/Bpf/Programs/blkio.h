// SPDX-License-Identifier: GPL-2.0
// ABI between blkio.bpf.c and src/KernelDebug.Core/Bpf/Tools/BlockIoLatencyMeter.cs; struct bio_key is mirrored by BioKey in Tools/ToolAbi.cs (BpfAbiTests checks it against the BTF).
#ifndef KD_BLKIO_H
#define KD_BLKIO_H

#define BIO_PHASE_DEVICE 0                 /* issue -> complete: time on the device (driver + hardware) */
#define BIO_PHASE_QUEUE 1                  /* insert -> issue: time waiting in the I/O scheduler / queue */

// Key of kd_bio_hist. gen: which half of the double buffer (kd_bio_ctl); dev: the disk's dev_t as the kernel
// encodes it (major << 20 | minor) or 0 unless grouped by disk; op: REQ_OP_* or 0xff unless grouped by operation.
struct bio_key {
	__u32 gen;
	__u32 dev;
	__u32 op;
	__u32 phase;
};

// Per-request state, keyed by the struct request pointer.
struct bio_start {
	__u64 insert_ts;
	__u64 issue_ts;
};

// kd_bio_hist value beside the histogram: the bytes completed (kd_hist.errors counts failed completions).
#define BIO_STAT_MISSED_ISSUE 0            /* completion without its issue (in flight at attach) */
#define BIO_STAT_START_FULL 1              /* issue not recorded: kd_bio_start was full */
#define BIO_STAT_COUNT 2

#define BIO_ALL_OPS 0xff

#endif
