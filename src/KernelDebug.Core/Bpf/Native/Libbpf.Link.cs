using System.Runtime.InteropServices;

namespace KernelDebug.Core.Bpf.Native;

// bpf_link: detaching. Attaching is bpf_program__attach (Libbpf.Program.cs).
internal static unsafe partial class Libbpf
{
    [LibraryImport(Lib)]
    internal static partial int bpf_link_get_next_id(uint startId, uint* nextId);

    /// <summary>The head of struct bpf_link_info (uapi): type, id, prog_id; the kernel fills only what fits.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct BpfLinkInfoHead
    {
        public uint Type;
        public uint Id;
        public uint ProgId;
    }

    [LibraryImport(Lib)]
    internal static partial int bpf_link__destroy(nint link);

    [LibraryImport(Lib)]
    internal static partial int bpf_link__fd(nint link);
}
