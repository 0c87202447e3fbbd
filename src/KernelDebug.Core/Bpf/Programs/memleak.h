// SPDX-License-Identifier: GPL-2.0
// ABI between memleak.bpf.c and src/KernelDebug.Core/Bpf/Tools/KernelMemoryLeakTracer.cs; struct ml_alloc is mirrored by MlAlloc in Tools/ToolAbi.cs (BpfAbiTests checks it against the BTF).
#ifndef KD_MEMLEAK_H
#define KD_MEMLEAK_H

#define ML_MAX_TGIDS 16
#define ML_STACK_DEPTH 32

#define ML_KIND_KMALLOC 0
#define ML_KIND_CACHE 1
#define ML_KIND_PAGE 2

// One outstanding allocation, keyed by its address (struct page * for pages).
struct ml_alloc {
	__u64 size;
	__u64 ts;                          /* bpf_ktime_get_ns (CLOCK_MONOTONIC) */
	__u64 call_site;                   /* _RET_IP_ of the allocator's caller; 0 for pages */
	__u64 stack;                       /* key in kd_ml_stacks (kd_stack.bpf.h); 0 = not recorded */
	__u32 tgid;
	__u32 kind;
	char comm[16];
};

// Indexes of kd_ml_state (a plain array: [ML_STATE_TRACKED] is updated atomically, the rest per event).
#define ML_STATE_TRACKED 0                 /* allocations in kd_ml_allocs now */
#define ML_STATE_OVERFLOW 1                /* allocations not tracked: kd_ml_allocs (sized -MaxTracked) was full */
#define ML_STATE_UNTRACKED_FREES 2         /* frees of allocations made before attach (ignored) */
#define ML_STATE_STACK_LOST 3              /* stack not recorded: kd_ml_stacks (sized -MaxStacks) was full */
#define ML_STATE_STACK_FAULT 4             /* stack not recorded: bpf_get_stack failed (-EFAULT/-EINVAL) */
#define ML_STATE_COUNT 5

#endif
