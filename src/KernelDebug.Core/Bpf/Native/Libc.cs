using System.Runtime.InteropServices;

namespace KernelDebug.Core.Bpf.Native;

// The libc calls only the BPF engine needs beside libbpf; the shared ones (open, close, mount, poll) are in Core/Native/LibC.
internal static unsafe partial class Libc
{
    /// <summary>Formats libbpf's printf-style messages; va_list is a pointer on x86-64 System V.</summary>
    [LibraryImport("libc")]
    internal static partial int vsnprintf(byte* buffer, nuint size, byte* format, nint args);

    [StructLayout(LayoutKind.Sequential)]
    internal struct RLimit
    {
        public ulong Current;
        public ulong Max;
    }

    internal const int RlimitMemlock = 8;

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int getrlimit(int resource, RLimit* limit);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int setrlimit(int resource, RLimit* limit);

    [StructLayout(LayoutKind.Sequential)]
    internal struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    internal const int ClockMonotonic = 1;
    internal const int ClockBoottime = 7;

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int clock_gettime(int clock, TimeSpec* ts);
}
