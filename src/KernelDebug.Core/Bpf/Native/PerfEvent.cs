using System.Runtime.InteropServices;

namespace KernelDebug.Core.Bpf.Native;

// perf_event_open(2): a sampling software clock per CPU for the profiler's perf_event program.
internal static unsafe partial class PerfEvent
{
    private const long SysPerfEventOpen = 298;   // x86-64
    internal const uint TypeSoftware = 1;
    internal const ulong CountSwCpuClock = 0;
    private const ulong FlagFreq = 1UL << 10;    // attr bit 10: freq (sample_freq instead of sample_period)
    private const ulong PerfFlagFdCloexec = 8;

    // struct perf_event_attr up to PERF_ATTR_SIZE_VER0 (64 bytes) is enough for a frequency-driven software event.
    [StructLayout(LayoutKind.Sequential)]
    private struct Attr
    {
        public uint Type;
        public uint Size;
        public ulong Config;
        public ulong SampleFreq;
        public ulong SampleType;
        public ulong ReadFormat;
        public ulong Flags;
        public uint WakeupEvents;
        public uint BpType;
        public ulong BpAddr;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial long syscall(long number, Attr* attr, int pid, int cpu, int groupFd, ulong flags);

    /// <summary>Opens a cpu-clock event sampling at <paramref name="frequency"/> Hz on one CPU, all processes. Returns the fd or -errno.</summary>
    internal static int OpenCpuClock(int cpu, int frequency)
    {
        var attr = new Attr
        {
            Type = TypeSoftware,
            Size = (uint)sizeof(Attr),
            Config = CountSwCpuClock,
            SampleFreq = (ulong)frequency,
            Flags = FlagFreq,
        };
        long fd = syscall(SysPerfEventOpen, &attr, -1, cpu, -1, PerfFlagFdCloexec);
        return fd >= 0 ? (int)fd : -Marshal.GetLastPInvokeError();
    }
}
