// SPDX-License-Identifier: GPL-2.0
// ABI between irqtime.bpf.c and src/KernelDebug.Core/Bpf/Tools/InterruptTimeMeter.cs; struct irq_key is mirrored
// by IrqKey in Tools/ToolAbi.cs (BpfAbiTests checks it against the BTF).
#ifndef KD_IRQTIME_H
#define KD_IRQTIME_H

#define IRQ_KIND_HARD 0
#define IRQ_KIND_SOFT 1

#define IRQ_NAME_LEN 32
#define IRQ_ALL_CPUS 0xffffffff

// Key of kd_irq_hist: gen of kd_gen.bpf.h; vector: the IRQ number (hard) or softirq vector (soft); cpu or
// IRQ_ALL_CPUS unless targ_per_cpu; name: the handler's irqaction name (hard; empty for soft, named in user space).
struct irq_key {
	__u32 gen;
	__u32 kind;
	__u32 vector;
	__u32 cpu;
	char name[IRQ_NAME_LEN];
};

#define IRQ_STAT_HIST_FULL 0               /* a run not counted: no row for its handler (table full, or no memory in IRQ context) */
#define IRQ_STAT_NO_ENTRY 1                /* an exit without its entry (the handler was running at attach) */
#define IRQ_STAT_COUNT 2

#endif
