// SPDX-License-Identifier: GPL-2.0
// Trace-KernelMemoryLeak: outstanding kernel allocations (kmalloc, kmem_cache_alloc, page allocations) kept in a
// bounded hash with size, time, call site and stack; frees remove them; frees of allocations made before attach are
// counted and ignored. User space reads the table and reports what is still outstanding and old.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "kd_filter.bpf.h"
#include "kd_stack.bpf.h"
#include "memleak.h"

const volatile __u32 targ_page_shift = 12;
const volatile __u8 targ_stacks = 1;

/* Preallocated, sized to -MaxTracked by the loader: inserting must not allocate, or the map's own refills
 * (kernel/bpf/memalloc.c alloc_bulk) would be traced allocations feeding the table. The size is the bound. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct ml_alloc);
} kd_ml_allocs SEC(".maps");

/* Stacks by hash (kd_stack.bpf.h), sized -MaxStacks by the loader. */
KD_STACK_MAPS(kd_ml);

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ML_STATE_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} kd_ml_state SEC(".maps");

static __always_inline void state_add(__u32 idx, __s64 delta)
{
	__u64 *v = bpf_map_lookup_elem(&kd_ml_state, &idx);
	if (v)
		__sync_fetch_and_add(v, delta);
}

static __always_inline int on_alloc(void *ctx, __u64 ptr, __u64 size, __u64 call_site, __u32 kind)
{
	if (!ptr)
		return 0;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!kd_wanted_current())
		return 0;
	struct ml_alloc a = {};
	a.size = size;
	a.ts = bpf_ktime_get_ns();
	a.call_site = call_site;
	a.tgid = pid_tgid >> 32;
	a.kind = kind;
	bpf_get_current_comm(&a.comm, sizeof(a.comm));
	if (targ_stacks) {
		long err;
		a.stack = kd_stack_capture(ctx, &kd_ml_scratch, &kd_ml_stacks, 0, &err);
		if (!a.stack)
			state_add(err == -14 || err == -22 ? ML_STATE_STACK_FAULT : ML_STATE_STACK_LOST, 1);
	}
	/* An address reused without its free seen (freed before attach, or a missed event): replace, count unchanged. */
	if (bpf_map_lookup_elem(&kd_ml_allocs, &ptr)) {
		bpf_map_update_elem(&kd_ml_allocs, &ptr, &a, BPF_EXIST);
		return 0;
	}
	if (bpf_map_update_elem(&kd_ml_allocs, &ptr, &a, BPF_NOEXIST) == 0)
		state_add(ML_STATE_TRACKED, 1);
	else
		state_add(ML_STATE_OVERFLOW, 1);
	return 0;
}

static __always_inline int on_free(__u64 ptr)
{
	if (!ptr)
		return 0;
	if (bpf_map_delete_elem(&kd_ml_allocs, &ptr) == 0)
		state_add(ML_STATE_TRACKED, -1);
	else
		state_add(ML_STATE_UNTRACKED_FREES, 1);
	return 0;
}

#define KD_ML_PROGS(kind, sec)                                                                                          \
	SEC(sec "/kmalloc")                                                                                              \
	int BPF_PROG(kd_ml_##kind##_kmalloc, unsigned long call_site, const void *ptr, size_t req, size_t alloc)        \
	{ return on_alloc(ctx, (__u64)ptr, alloc, call_site, ML_KIND_KMALLOC); }                                         \
	SEC(sec "/kfree")                                                                                                \
	int BPF_PROG(kd_ml_##kind##_kfree, unsigned long call_site, const void *ptr) { return on_free((__u64)ptr); }     \
	SEC(sec "/kmem_cache_alloc")                                                                                     \
	int BPF_PROG(kd_ml_##kind##_calloc, unsigned long call_site, const void *ptr, struct kmem_cache *s)             \
	{ return on_alloc(ctx, (__u64)ptr, BPF_CORE_READ(s, size), call_site, ML_KIND_CACHE); }                          \
	SEC(sec "/kmem_cache_free")                                                                                      \
	int BPF_PROG(kd_ml_##kind##_cfree, unsigned long call_site, const void *ptr) { return on_free((__u64)ptr); }     \
	SEC(sec "/mm_page_alloc")                                                                                        \
	int BPF_PROG(kd_ml_##kind##_palloc, struct page *page, unsigned int order)                                      \
	{ return on_alloc(ctx, (__u64)page, (__u64)1 << (targ_page_shift + (order & 31)), 0, ML_KIND_PAGE); }           \
	SEC(sec "/mm_page_free")                                                                                         \
	int BPF_PROG(kd_ml_##kind##_pfree, struct page *page, unsigned int order) { return on_free((__u64)page); }

KD_ML_PROGS(btf, "tp_btf")
KD_ML_PROGS(raw, "raw_tp")

char LICENSE[] SEC("license") = "GPL";
