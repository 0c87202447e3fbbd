// SPDX-License-Identifier: GPL-2.0
// The generation switch: programs stamp the current generation (0/1) into their keys; user space flips it, waits
// for programs that read the old one to finish, and drains the old generation: intervals lose no events.
// Contract with src/KernelDebug.Core/Bpf/Engine/BpfTool.cs (FlipGeneration): change both together.
#ifndef KD_GEN_BPF_H
#define KD_GEN_BPF_H

#define KD_GEN_MAP(name)                                           \
	struct {                                                   \
		__uint(type, BPF_MAP_TYPE_ARRAY);                  \
		__uint(max_entries, 1);                            \
		__type(key, __u32);                                \
		__type(value, __u32);                              \
	} name SEC(".maps")

static __always_inline __u32 kd_generation(void *ctl)
{
	__u32 zero = 0;
	__u32 *g = bpf_map_lookup_elem(ctl, &zero);
	return g ? *g : 0;
}


#endif
