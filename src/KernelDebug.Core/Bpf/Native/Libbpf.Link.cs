using System.Runtime.InteropServices;

namespace KernelDebug.Core.Bpf.Native;

// bpf_link: detaching. Attaching is bpf_program__attach (Libbpf.Program.cs).
internal static partial class Libbpf
{
    [LibraryImport(Lib)]
    internal static partial int bpf_link__destroy(nint link);

    [LibraryImport(Lib)]
    internal static partial int bpf_link__fd(nint link);
}
