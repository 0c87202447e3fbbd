using System.Runtime.InteropServices;

namespace KernelDebug.Core.Bpf.Native;

// bpf_object: open from memory, load, close, and walking its programs and maps.
internal static unsafe partial class Libbpf
{
    internal const string Lib = "libbpf.so.1";

    /// <summary>struct bpf_object_open_opts as of libbpf 1.1 (80 bytes); only sz and object_name are set.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 80)]
    internal struct BpfObjectOpenOpts
    {
        public nuint Size;
        public byte* ObjectName;
    }

    // Pointer-returning calls report errors through errno (libbpf 1.x), hence SetLastError.
    [LibraryImport(Lib, SetLastError = true)]
    internal static partial nint bpf_object__open_mem(byte* buffer, nuint size, BpfObjectOpenOpts* opts);

    [LibraryImport(Lib)]
    internal static partial int bpf_object__load(nint obj);

    [LibraryImport(Lib)]
    internal static partial void bpf_object__close(nint obj);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint bpf_object__find_program_by_name(nint obj, string name);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint bpf_object__find_map_by_name(nint obj, string name);

    [LibraryImport(Lib)]
    internal static partial nint bpf_object__next_map(nint obj, nint prev);

    [LibraryImport(Lib)]
    internal static partial nint bpf_object__next_program(nint obj, nint prev);

    [LibraryImport(Lib)]
    internal static partial nint bpf_object__btf(nint obj);

    [LibraryImport(Lib)]
    internal static partial int libbpf_num_possible_cpus();

    [LibraryImport(Lib)]
    internal static partial uint libbpf_major_version();

    [LibraryImport(Lib)]
    internal static partial uint libbpf_minor_version();
}
