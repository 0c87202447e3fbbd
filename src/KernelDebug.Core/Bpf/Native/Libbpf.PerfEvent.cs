using System.Runtime.InteropServices;

namespace KernelDebug.Core.Bpf.Native;

// Attaching a perf_event program to a perf event fd (libbpf takes the fd over: the link's destroy closes it).
internal static partial class Libbpf
{
    [LibraryImport(Lib, SetLastError = true)]
    internal static partial nint bpf_program__attach_perf_event(nint prog, int perfEventFd);
}
