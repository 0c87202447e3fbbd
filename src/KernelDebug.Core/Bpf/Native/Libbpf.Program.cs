using System.Runtime.InteropServices;

namespace KernelDebug.Core.Bpf.Native;

// bpf_program: choosing what loads, the verifier log, attaching; plus program ids and info for Get-BpfProgram.
internal static unsafe partial class Libbpf
{
    [LibraryImport(Lib)]
    internal static partial nint bpf_program__name(nint prog);

    [LibraryImport(Lib)]
    internal static partial int bpf_program__set_autoload(nint prog, [MarshalAs(UnmanagedType.U1)] bool autoload);

    [LibraryImport(Lib)]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static partial bool bpf_program__autoload(nint prog);

    [LibraryImport(Lib)]
    internal static partial int bpf_program__set_log_buf(nint prog, byte* buffer, nuint size);

    [LibraryImport(Lib)]
    internal static partial int bpf_program__set_log_level(nint prog, uint level);

    [LibraryImport(Lib)]
    internal static partial int bpf_program__fd(nint prog);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial nint bpf_program__attach(nint prog);

    [LibraryImport(Lib)]
    internal static partial int bpf_prog_get_next_id(uint startId, uint* nextId);

    [LibraryImport(Lib)]
    internal static partial int bpf_prog_get_fd_by_id(uint id);

    [LibraryImport(Lib)]
    internal static partial int bpf_obj_get_info_by_fd(int fd, void* info, uint* infoLength);

    /// <summary>BPF_STATS_RUN_TIME: the kernel counts run_time_ns/run_cnt per program while the returned fd is open.</summary>
    [LibraryImport(Lib)]
    internal static partial int bpf_enable_stats(int type);

    /// <summary>struct bpf_prog_info (uapi, 232 bytes on kernel 6.x headers); the fields Get-BpfProgram reads.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 232)]
    internal struct BpfProgInfo
    {
        [FieldOffset(0)] public uint Type;
        [FieldOffset(4)] public uint Id;
        [FieldOffset(8)] public fixed byte Tag[8];
        [FieldOffset(40)] public ulong LoadTime;          // ns since boot (CLOCK_BOOTTIME)
        [FieldOffset(48)] public uint CreatedByUid;
        [FieldOffset(52)] public uint NrMapIds;
        [FieldOffset(64)] public fixed byte Name[16];
        [FieldOffset(128)] public uint BtfId;
        [FieldOffset(192)] public ulong RunTimeNs;
        [FieldOffset(200)] public ulong RunCount;
        [FieldOffset(208)] public ulong RecursionMisses;
        [FieldOffset(216)] public uint VerifiedInstructions;
    }
}
