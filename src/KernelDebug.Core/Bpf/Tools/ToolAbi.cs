using System.Runtime.InteropServices;

namespace KernelDebug.Core.Bpf.Tools;

// The C structs of syslat.h, blkio.h, lockcont.h, profile.h, memleak.h, pktdrop.h, irqtime.h and reclaim.h, field for field, as SchedAbi.cs has
// sched.h's: BpfAbiTests checks every offset and size against each object's BTF, so a field added on one side only
// fails a test instead of shifting what the meters read.

/// <summary>struct sl_key (syslat.h): key of kd_sl_hist and kd_sl_errs.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct SlKey
{
    /// <summary>gen</summary>
    public uint Gen;
    /// <summary>tgid (0 unless grouped or filtered by process)</summary>
    public uint Tgid;
    /// <summary>syscall id</summary>
    public uint Id;
    /// <summary>negative errno (kd_sl_errs only)</summary>
    public int Err;
    /// <summary>comm</summary>
    public fixed byte Comm[16];

    /// <summary>The command name.</summary>
    public readonly string CommText() { fixed (byte* p = Comm) return BpfAbi.Text(new ReadOnlySpan<byte>(p, 16)); }
}

/// <summary>struct bio_key (blkio.h): key of kd_bio_hist.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct BioKey
{
    /// <summary>gen</summary>
    public uint Gen;
    /// <summary>dev (kernel dev_t)</summary>
    public uint Dev;
    /// <summary>op (REQ_OP_*)</summary>
    public uint Op;
    /// <summary>phase (queue or device)</summary>
    public uint Phase;
}

/// <summary>struct lk_key (lockcont.h): key of kd_lk_hist.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct LkKey
{
    /// <summary>gen</summary>
    public uint Gen;
    /// <summary>flags (LCB_F_*)</summary>
    public uint Flags;
    /// <summary>lock address, 0 when grouped by caller</summary>
    public ulong Lock;
    /// <summary>stack_id, -1 unless grouped by caller</summary>
    public int StackId;
    /// <summary>tgid, 0 unless grouped by process</summary>
    public uint Tgid;
}

/// <summary>struct pf_key (profile.h): key of kd_pf_counts.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct PfKey
{
    /// <summary>gen</summary>
    public uint Gen;
    /// <summary>tgid</summary>
    public uint Tgid;
    /// <summary>kstack, -1 for none</summary>
    public int Kstack;
    /// <summary>ustack, -1 for none</summary>
    public int Ustack;
    /// <summary>comm</summary>
    public fixed byte Comm[16];

    /// <summary>The command name.</summary>
    public readonly string CommText() { fixed (byte* p = Comm) return BpfAbi.Text(new ReadOnlySpan<byte>(p, 16)); }
}

/// <summary>struct ml_alloc (memleak.h): value of kd_ml_allocs, one outstanding allocation.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct MlAlloc
{
    /// <summary>size in bytes</summary>
    public ulong Size;
    /// <summary>ts (bpf_ktime_get_ns)</summary>
    public ulong Ts;
    /// <summary>call_site, 0 for pages</summary>
    public ulong CallSite;
    /// <summary>stack key in kd_ml_stacks, 0 for none</summary>
    public ulong Stack;
    /// <summary>tgid</summary>
    public uint Tgid;
    /// <summary>kind (ML_KIND_*)</summary>
    public uint Kind;
    /// <summary>comm</summary>
    public fixed byte Comm[16];

    /// <summary>The command name.</summary>
    public readonly string CommText() { fixed (byte* p = Comm) return BpfAbi.Text(new ReadOnlySpan<byte>(p, 16)); }
}

/// <summary>struct pd_key (pktdrop.h): key of kd_pd_drops.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct PdKey
{
    /// <summary>gen</summary>
    public uint Gen;
    /// <summary>reason (enum skb_drop_reason), 0 unless grouped by reason</summary>
    public uint Reason;
    /// <summary>location (kernel text address), 0 unless grouped by location</summary>
    public ulong Location;
    /// <summary>protocol (ETH_P_*, host order), 0 unless grouped by protocol</summary>
    public uint Protocol;
    /// <summary>ifindex, 0 unless grouped by interface</summary>
    public uint Ifindex;
}

/// <summary>struct pd_val (pktdrop.h): value of kd_pd_drops, one CPU's share.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct PdValue
{
    /// <summary>packets</summary>
    public ulong Count;
    /// <summary>bytes (skb->len)</summary>
    public ulong Bytes;
}

/// <summary>struct irq_key (irqtime.h): key of kd_irq_hist.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct IrqKey
{
    /// <summary>gen</summary>
    public uint Gen;
    /// <summary>kind (IRQ_KIND_HARD or IRQ_KIND_SOFT)</summary>
    public uint Kind;
    /// <summary>IRQ number or softirq vector</summary>
    public uint Vector;
    /// <summary>CPU, or IRQ_ALL_CPUS unless per CPU</summary>
    public uint Cpu;
    /// <summary>handler name (hard IRQs)</summary>
    public fixed byte Name[32];

    /// <summary>The handler name.</summary>
    public readonly string NameText() { fixed (byte* p = Name) return BpfAbi.Text(new ReadOnlySpan<byte>(p, 32)); }
}

/// <summary>struct reclaim_key (reclaim.h): key of kd_rc_hist and kd_rc_pages.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct ReclaimKey
{
    /// <summary>gen</summary>
    public uint Gen;
    /// <summary>kind (RECLAIM_*)</summary>
    public uint Kind;
    /// <summary>tgid, 0 unless grouped by process</summary>
    public uint Tgid;
    /// <summary>pad</summary>
    public uint Pad;
    /// <summary>cgroup id, 0 when not grouped</summary>
    public ulong Cgroup;
    /// <summary>comm of the process leader, when grouped by process</summary>
    public fixed byte Comm[16];

    /// <summary>The command name.</summary>
    public readonly string CommText() { fixed (byte* p = Comm) return BpfAbi.Text(new ReadOnlySpan<byte>(p, 16)); }
}
