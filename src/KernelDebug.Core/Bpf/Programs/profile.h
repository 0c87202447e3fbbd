// SPDX-License-Identifier: GPL-2.0
// ABI between profile.bpf.c and src/KernelDebug.Core/Bpf/Tools/KernelCpuProfiler.cs; struct pf_key is mirrored by PfKey in Tools/ToolAbi.cs (BpfAbiTests checks it against the BTF).
#ifndef KD_PROFILE_H
#define KD_PROFILE_H

#define PF_MAX_TGIDS 16
#define PF_STACK_DEPTH 64

// Key of kd_pf_counts: one sampled (process, kernel stack, user stack) in one generation (kd_pf_ctl).
struct pf_key {
	__u32 gen;
	__u32 tgid;
	__s32 kstack;                      /* -1: no kernel stack (sample in user mode) */
	__s32 ustack;                      /* -1: none (kernel thread, -KernelOnly, or lost) */
	char comm[16];
};

#endif
