using System.Runtime.InteropServices;

namespace KernelDebug.Core.Bpf.Native;

// bpf_map: names, fds, the initial value of .rodata, and element access (single and batch).
internal static unsafe partial class Libbpf
{
    /// <summary>struct bpf_map_batch_opts (24 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct BpfMapBatchOpts
    {
        public nuint Size;
        public ulong ElemFlags;
        public ulong Flags;
    }

    [LibraryImport(Lib)]
    internal static partial nint bpf_map__name(nint map);

    [LibraryImport(Lib)]
    internal static partial int bpf_map__set_autocreate(nint map, [MarshalAs(UnmanagedType.U1)] bool autocreate);

    [LibraryImport(Lib)]
    internal static partial int bpf_map__set_max_entries(nint map, uint maxEntries);

    [LibraryImport(Lib)]
    internal static partial int bpf_map__fd(nint map);

    [LibraryImport(Lib)]
    internal static partial uint bpf_map__type(nint map);

    [LibraryImport(Lib)]
    internal static partial uint bpf_map__key_size(nint map);

    [LibraryImport(Lib)]
    internal static partial uint bpf_map__value_size(nint map);

    [LibraryImport(Lib)]
    internal static partial void* bpf_map__initial_value(nint map, nuint* size);

    [LibraryImport(Lib)]
    internal static partial int bpf_map_lookup_elem(int fd, void* key, void* value);

    [LibraryImport(Lib)]
    internal static partial int bpf_map_update_elem(int fd, void* key, void* value, ulong flags);

    [LibraryImport(Lib)]
    internal static partial int bpf_map_delete_elem(int fd, void* key);

    [LibraryImport(Lib)]
    internal static partial int bpf_map_get_next_key(int fd, void* key, void* nextKey);

    [LibraryImport(Lib)]
    internal static partial int bpf_map_lookup_batch(int fd, void* inBatch, void* outBatch, void* keys, void* values, uint* count, BpfMapBatchOpts* opts);

    [LibraryImport(Lib)]
    internal static partial int bpf_map_delete_batch(int fd, void* keys, uint* count, BpfMapBatchOpts* opts);
}
