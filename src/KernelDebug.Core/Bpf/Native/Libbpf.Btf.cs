using System.Runtime.InteropServices;

namespace KernelDebug.Core.Bpf.Native;

// BTF of a loaded object: where the .rodata variables sit (DATASEC), so filters are written at the right offset.
// BTF of the kernel (a raw BTF file such as /sys/kernel/btf/vmlinux): the names of its enums.
internal static unsafe partial class Libbpf
{
    internal const int BtfKindEnum = 6;
    internal const int BtfKindVar = 14;
    internal const int BtfKindDatasec = 15;
    internal const int BtfKindEnum64 = 19;

    /// <summary>struct btf_type: name_off, info (vlen in bits 0-15, kind in 24-28), size/type.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct BtfType
    {
        public uint NameOffset;
        public uint Info;
        public uint SizeOrType;
        public int Kind => (int)((Info >> 24) & 0x1f);
        public int Vlen => (int)(Info & 0xffff);
    }

    /// <summary>struct btf_var_secinfo, the entries after a DATASEC btf_type.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct BtfVarSecinfo
    {
        public uint Type;
        public uint Offset;
        public uint Size;
    }

    /// <summary>struct btf_enum, the entries after an ENUM btf_type (vlen of them).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct BtfEnum
    {
        public uint NameOffset;
        public int Value;
    }

    /// <summary>struct btf_enum64, the entries after an ENUM64 btf_type.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct BtfEnum64
    {
        public uint NameOffset;
        public uint ValueLow;
        public uint ValueHigh;
    }

    // Pointer-returning calls report errors through errno (libbpf 1.x), hence SetLastError.
    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint btf__parse_raw(string path);

    [LibraryImport(Lib)]
    internal static partial void btf__free(nint btf);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int btf__find_by_name_kind(nint btf, string name, uint kind);

    [LibraryImport(Lib)]
    internal static partial BtfType* btf__type_by_id(nint btf, uint id);

    [LibraryImport(Lib)]
    internal static partial nint btf__name_by_offset(nint btf, uint offset);
}
