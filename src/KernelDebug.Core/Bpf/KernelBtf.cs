using System.Runtime.InteropServices;
using KernelDebug.Core.Bpf.Native;

namespace KernelDebug.Core.Bpf;

/// <summary>
/// Reads types of a raw BTF file (the kernel's <c>/sys/kernel/btf/vmlinux</c>, or a copy of it under a
/// <see cref="KernelRoot"/>) through libbpf: the kernel names the values of its enums there, whatever its version.
/// </summary>
public static class KernelBtf
{
    /// <summary>
    /// The members of enum <paramref name="name"/> (BTF_KIND_ENUM or ENUM64) in declaration order, or null when the
    /// file is missing or unreadable, is not BTF, or has no such enum.
    /// </summary>
    public static unsafe IReadOnlyList<(string Name, long Value)>? Enum(string path, string name)
    {
        if (!File.Exists(path)) return null;
        using var btf = new BtfHandle(Libbpf.btf__parse_raw(path));
        if (btf.IsInvalid) return null;
        foreach (int kind in new[] { Libbpf.BtfKindEnum, Libbpf.BtfKindEnum64 })
        {
            int id = Libbpf.btf__find_by_name_kind(btf.Btf, name, (uint)kind);
            if (id <= 0) continue;
            var t = Libbpf.btf__type_by_id(btf.Btf, (uint)id);
            if (t == null) continue;
            bool signed = (t->Info & 0x8000_0000) != 0;   // kind_flag: the enum is signed
            var members = new List<(string, long)>(t->Vlen);
            for (int i = 0; i < t->Vlen; i++)
            {
                uint nameOff;
                long value;
                if (kind == Libbpf.BtfKindEnum)
                {
                    var e = ((Libbpf.BtfEnum*)(t + 1))[i];
                    nameOff = e.NameOffset;
                    value = signed ? e.Value : (uint)e.Value;
                }
                else
                {
                    var e = ((Libbpf.BtfEnum64*)(t + 1))[i];
                    nameOff = e.NameOffset;
                    value = (long)(((ulong)e.ValueHigh << 32) | e.ValueLow);
                }
                members.Add((Marshal.PtrToStringUTF8(Libbpf.btf__name_by_offset(btf.Btf, nameOff)) ?? "", value));
            }
            return members;
        }
        return null;
    }
}
