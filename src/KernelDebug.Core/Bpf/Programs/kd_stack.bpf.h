// SPDX-License-Identifier: GPL-2.0
// Stack capture that never returns someone else's stack and never loses one to a bucket collision.
// BPF_MAP_TYPE_STACK_TRACE keeps one stack per bucket (hash & (buckets-1)): a second stack hashing to an occupied
// bucket gets -EEXIST (lost), and BPF_F_REUSE_STACKID would instead overwrite it under the ids older records still
// hold. Here the frames go into a per-CPU scratch slot (bpf_get_stack), the key is a 64-bit hash of all frames,
// and a preallocated hash map keyed by that hash holds the frames: only a full table loses a stack.
// Layout contract with src/KernelDebug.Core/Bpf/Tools/BpfStacks.cs: change both together.
#ifndef KD_STACK_BPF_H
#define KD_STACK_BPF_H

#define KD_STACK_DEPTH 32

struct kd_stack {
	__u64 ips[KD_STACK_DEPTH];
};

// Declares <prefix>_scratch and <prefix>_stacks. max_entries of the table is set by the loader (an option).
#define KD_STACK_MAPS(prefix)                                      \
	struct {                                                   \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);           \
		__uint(max_entries, 1);                            \
		__type(key, __u32);                                \
		__type(value, struct kd_stack);                    \
	} prefix##_scratch SEC(".maps");                           \
	struct {                                                   \
		__uint(type, BPF_MAP_TYPE_HASH);                   \
		__uint(max_entries, 16384);                        \
		__type(key, __u64);                                \
		__type(value, struct kd_stack);                    \
	} prefix##_stacks SEC(".maps")

// The key of the current kernel (flags 0) or user (BPF_F_USER_STACK) stack, or 0 when it was lost; *err is then
// the negative errno: -EFAULT/-EINVAL from bpf_get_stack, -E2BIG/-ENOMEM when the table is full.
static __always_inline __u64 kd_stack_capture(void *ctx, void *scratch, void *stacks, __u64 flags, long *err)
{
	__u32 zero = 0;
	struct kd_stack *s = bpf_map_lookup_elem(scratch, &zero);
	*err = 0;
	if (!s) {
		*err = -2; /* ENOENT: cannot happen for a one-entry array */
		return 0;
	}
	long n = bpf_get_stack(ctx, s->ips, sizeof(s->ips), flags);
	if (n <= 0) {
		*err = n < 0 ? n : -14; /* EFAULT */
		return 0;
	}
	__u64 h = 0x9e3779b97f4a7c15ULL;
	for (int i = 0; i < KD_STACK_DEPTH; i++) {
		if (i * 8 >= n)
			s->ips[i] = 0; /* the scratch slot holds the previous stack's frames past this one's end */
		h ^= s->ips[i];
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 33;
	}
	if (!h)
		h = 1;
	if (bpf_map_lookup_elem(stacks, &h))
		return h;
	long r = bpf_map_update_elem(stacks, &h, s, BPF_NOEXIST);
	if (r == 0 || r == -17 /* EEXIST: another CPU stored the same stack */)
		return h;
	*err = r;
	return 0;
}

#endif
