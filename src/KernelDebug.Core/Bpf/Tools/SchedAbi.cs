using System.Runtime.InteropServices;
using System.Text;

namespace KernelDebug.Core.Bpf.Tools;

// The C structs of sched.h, field for field: a test checks every offset and size against the objects' BTF, so a
// field added on one side and not the other fails a test, not a measurement.

/// <summary>struct sched_hist_key.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 8)]
public unsafe struct SchedHistKey
{
    /// <summary>gen</summary>
    public uint Gen;
    /// <summary>id: tgid, tid or CPU by the grouping.</summary>
    public uint Id;
    /// <summary>cgroup id.</summary>
    public ulong Cgroup;
    /// <summary>comm.</summary>
    public fixed byte Comm[16];

    /// <summary>The command name.</summary>
    public readonly string CommText() { fixed (byte* p = Comm) return BpfAbi.Text(new ReadOnlySpan<byte>(p, 16)); }
}

/// <summary>struct offcpu_key.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 8)]
public unsafe struct OffCpuKey
{
    /// <summary>gen</summary>
    public uint Gen;
    /// <summary>tgid</summary>
    public uint Tgid;
    /// <summary>pid (thread)</summary>
    public uint Pid;
    /// <summary>waker_tgid</summary>
    public uint WakerTgid;
    /// <summary>kstack</summary>
    public ulong Kstack;
    /// <summary>ustack</summary>
    public ulong Ustack;
    /// <summary>waker_kstack</summary>
    public ulong WakerKstack;
    /// <summary>cgroup</summary>
    public ulong Cgroup;
    /// <summary>comm</summary>
    public fixed byte Comm[16];
    /// <summary>waker_comm</summary>
    public fixed byte WakerComm[16];

    /// <summary>The command name.</summary>
    public readonly string CommText() { fixed (byte* p = Comm) return BpfAbi.Text(new ReadOnlySpan<byte>(p, 16)); }
    /// <summary>The waker's command name.</summary>
    public readonly string WakerCommText() { fixed (byte* p = WakerComm) return BpfAbi.Text(new ReadOnlySpan<byte>(p, 16)); }
}

/// <summary>struct offcpu_val.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct OffCpuValue
{
    /// <summary>total_ns</summary>
    public ulong TotalNs;
    /// <summary>count</summary>
    public ulong Count;
}

/// <summary>Reading ABI structs out of map bytes.</summary>
public static class BpfAbi
{
    /// <summary>The struct at the start of a key or value.</summary>
    public static T Read<T>(ReadOnlySpan<byte> bytes) where T : unmanaged => MemoryMarshal.Read<T>(bytes[..Marshal.SizeOf<T>()]);

    /// <summary>A NUL-terminated char array as text.</summary>
    public static string Text(ReadOnlySpan<byte> chars)
    {
        int n = chars.IndexOf((byte)0);
        return Encoding.UTF8.GetString(n < 0 ? chars : chars[..n]);
    }
}
