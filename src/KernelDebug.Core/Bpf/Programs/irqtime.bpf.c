// SPDX-License-Identifier: GPL-2.0
// Measure-InterruptTime: time in each hard IRQ handler (irq_handler_entry/exit, keyed by IRQ and handler name) and
// in each softirq vector (softirq_entry/exit), in log-linear histograms, optionally per CPU, like libbpf-tools'
// hardirqs and softirqs together. kd_hist.errors counts hard IRQ handler runs that returned IRQ_NONE (not theirs).
// A hard IRQ that arrives during a softirq counts in both, as in softirqs: the softirq's time is wall time on its CPU.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "kd_hist.bpf.h"
#include "kd_gen.bpf.h"
#include "irqtime.h"

const volatile __u8 targ_per_cpu = 0;

/* Entry time per CPU: [IRQ_KIND_HARD], [IRQ_KIND_SOFT]. Neither nests in itself on one CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} kd_irq_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4096);
	__type(key, struct irq_key);
	__type(value, struct kd_hist);
} kd_irq_hist SEC(".maps");

KD_GEN_MAP(kd_irq_ctl);

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IRQ_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} kd_irq_stats SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&kd_irq_stats, &idx);
	if (v)
		(*v)++;
}

static __always_inline void enter(__u32 kind)
{
	__u64 *ts = bpf_map_lookup_elem(&kd_irq_start, &kind);
	if (ts)
		*ts = bpf_ktime_get_ns();
}

/* The time since enter(kind) on this CPU, or -1 when there was none (the handler was running at attach). */
static __always_inline __s64 leave(__u32 kind)
{
	__u64 *ts = bpf_map_lookup_elem(&kd_irq_start, &kind);
	if (!ts || !*ts) {
		stat_inc(IRQ_STAT_NO_ENTRY);
		return -1;
	}
	__s64 delta = bpf_ktime_get_ns() - *ts;
	*ts = 0;
	return delta;
}

static __always_inline void account(struct irq_key *key, __s64 delta, int unhandled)
{
	if (delta < 0)
		return;
	key->gen = kd_generation(&kd_irq_ctl);
	key->cpu = targ_per_cpu ? bpf_get_smp_processor_id() : IRQ_ALL_CPUS;
	if (!KD_HIST_UPDATE(kd_irq_hist, key, delta, unhandled))
		stat_inc(IRQ_STAT_HIST_FULL);
}

static __always_inline void hard_exit(int irq, struct irqaction *action, int ret)
{
	__s64 delta = leave(IRQ_KIND_HARD);
	if (delta < 0)
		return;
	struct irq_key key = { .kind = IRQ_KIND_HARD, .vector = irq };
	bpf_probe_read_kernel_str(&key.name, sizeof(key.name), BPF_CORE_READ(action, name));
	account(&key, delta, ret == 0 /* IRQ_NONE */);
}

static __always_inline void soft_exit(unsigned int vec)
{
	__s64 delta = leave(IRQ_KIND_SOFT);
	if (delta < 0)
		return;
	struct irq_key key = { .kind = IRQ_KIND_SOFT, .vector = vec };
	account(&key, delta, 0);
}

SEC("raw_tp/irq_handler_entry")
int BPF_PROG(kd_irq_raw_hard_entry, int irq, struct irqaction *action) { enter(IRQ_KIND_HARD); return 0; }

SEC("raw_tp/irq_handler_exit")
int BPF_PROG(kd_irq_raw_hard_exit, int irq, struct irqaction *action, int ret) { hard_exit(irq, action, ret); return 0; }

SEC("raw_tp/softirq_entry")
int BPF_PROG(kd_irq_raw_soft_entry, unsigned int vec) { enter(IRQ_KIND_SOFT); return 0; }

SEC("raw_tp/softirq_exit")
int BPF_PROG(kd_irq_raw_soft_exit, unsigned int vec) { soft_exit(vec); return 0; }

SEC("tp_btf/irq_handler_entry")
int BPF_PROG(kd_irq_btf_hard_entry, int irq, struct irqaction *action) { enter(IRQ_KIND_HARD); return 0; }

SEC("tp_btf/irq_handler_exit")
int BPF_PROG(kd_irq_btf_hard_exit, int irq, struct irqaction *action, int ret) { hard_exit(irq, action, ret); return 0; }

SEC("tp_btf/softirq_entry")
int BPF_PROG(kd_irq_btf_soft_entry, unsigned int vec) { enter(IRQ_KIND_SOFT); return 0; }

SEC("tp_btf/softirq_exit")
int BPF_PROG(kd_irq_btf_soft_exit, unsigned int vec) { soft_exit(vec); return 0; }

char LICENSE[] SEC("license") = "GPL";
