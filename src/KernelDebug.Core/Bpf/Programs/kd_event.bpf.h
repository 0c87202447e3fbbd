// SPDX-License-Identifier: GPL-2.0
// What every streaming (Trace-*) tool shares: its ring buffer <p>_events and the per-CPU count <p>_lost of events
// the ring had no room for, read by src/KernelDebug.Core/Bpf/Engine/BpfEventTool.cs. KD_EVENT_RESERVE reserves one
// event or counts it lost.
#ifndef KD_EVENT_BPF_H
#define KD_EVENT_BPF_H

#define KD_EVENT_MAPS(p, bytes)                                                  \
	struct {                                                            \
		__uint(type, BPF_MAP_TYPE_RINGBUF);                         \
		__uint(max_entries, bytes);                                 \
	} p##_events SEC(".maps");                                          \
	struct {                                                            \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);                    \
		__uint(max_entries, 1);                                     \
		__type(key, __u32);                                         \
		__type(value, __u64);                                       \
	} p##_lost SEC(".maps");

static __always_inline void *kd_event_reserve(void *ring, void *lost, __u64 size)
{
	void *e = bpf_ringbuf_reserve(ring, size, 0);
	if (!e) {
		__u32 zero = 0;
		__u64 *n = bpf_map_lookup_elem(lost, &zero);
		if (n)
			__sync_fetch_and_add(n, 1);
	}
	return e;
}

#define KD_EVENT_RESERVE(p, type) ((type *)kd_event_reserve(&p##_events, &p##_lost, sizeof(type)))

#endif
