using System.Runtime.InteropServices;

namespace KernelDebug.Core.Bpf.Native;

// BPF ring buffer consumer (BPF_MAP_TYPE_RINGBUF), for streaming tools.
internal static unsafe partial class Libbpf
{
    [LibraryImport(Lib, SetLastError = true)]
    internal static partial nint ring_buffer__new(int mapFd, delegate* unmanaged<nint, void*, nuint, int> sample, nint ctx, void* opts);

    [LibraryImport(Lib)]
    internal static partial int ring_buffer__poll(nint rb, int timeoutMs);

    [LibraryImport(Lib)]
    internal static partial void ring_buffer__free(nint rb);
}
