using System.Runtime.InteropServices;

namespace KernelDebug.Core.Bpf.Tools;

// The C structs of events.h, field for field: a test checks every offset and size against the objects' BTF.

/// <summary>The sizes of events.h.</summary>
public static class EventAbi
{
    /// <summary>Bytes of the argument area kept (EXEC_ARGS_MAX).</summary>
    public const int ExecArgsMax = 4096;
    /// <summary>EXEC_PATH_MAX.</summary>
    public const int ExecPathMax = 512;
}

/// <summary>struct exec_event.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 8)]
public unsafe struct ExecEvent
{
    /// <summary>ts</summary>
    public ulong Ts;
    /// <summary>cgroup</summary>
    public ulong Cgroup;
    /// <summary>pid</summary>
    public uint Pid;
    /// <summary>tid</summary>
    public uint Tid;
    /// <summary>old_tid</summary>
    public uint OldTid;
    /// <summary>ppid</summary>
    public uint Ppid;
    /// <summary>uid</summary>
    public uint Uid;
    /// <summary>args_size</summary>
    public uint ArgsSize;
    /// <summary>args_total</summary>
    public uint ArgsTotal;
    /// <summary>pad</summary>
    public uint Pad;
    /// <summary>comm</summary>
    public fixed byte Comm[16];
    /// <summary>filename</summary>
    public fixed byte Filename[EventAbi.ExecPathMax];
    /// <summary>args</summary>
    public fixed byte Args[EventAbi.ExecArgsMax];
}

/// <summary>struct exit_event.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 8)]
public unsafe struct ExitEvent
{
    /// <summary>ts</summary>
    public ulong Ts;
    /// <summary>start_time</summary>
    public ulong StartTime;
    /// <summary>cgroup</summary>
    public ulong Cgroup;
    /// <summary>pid</summary>
    public uint Pid;
    /// <summary>tid</summary>
    public uint Tid;
    /// <summary>ppid</summary>
    public uint Ppid;
    /// <summary>exit_code</summary>
    public uint ExitCode;
    /// <summary>comm</summary>
    public fixed byte Comm[16];
}

/// <summary>struct signal_event.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 8)]
public unsafe struct SignalEvent
{
    /// <summary>ts</summary>
    public ulong Ts;
    /// <summary>cgroup</summary>
    public ulong Cgroup;
    /// <summary>pid</summary>
    public uint Pid;
    /// <summary>tid</summary>
    public uint Tid;
    /// <summary>target_pid</summary>
    public uint TargetPid;
    /// <summary>target_tid</summary>
    public uint TargetTid;
    /// <summary>sig</summary>
    public int Sig;
    /// <summary>code</summary>
    public int Code;
    /// <summary>group</summary>
    public int Group;
    /// <summary>result</summary>
    public int Result;
    /// <summary>comm</summary>
    public fixed byte Comm[16];
    /// <summary>target_comm</summary>
    public fixed byte TargetComm[16];
}

/// <summary>struct oom_event.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 8)]
public unsafe struct OomKillEvent
{
    /// <summary>ts</summary>
    public ulong Ts;
    /// <summary>cgroup (the victim's)</summary>
    public ulong Cgroup;
    /// <summary>total_vm (pages)</summary>
    public ulong TotalVm;
    /// <summary>file_rss (pages)</summary>
    public long FileRss;
    /// <summary>anon_rss (pages)</summary>
    public long AnonRss;
    /// <summary>shmem_rss (pages)</summary>
    public long ShmemRss;
    /// <summary>pid (victim tgid)</summary>
    public uint Pid;
    /// <summary>tid</summary>
    public uint Tid;
    /// <summary>trigger_pid</summary>
    public uint TriggerPid;
    /// <summary>trigger_tid</summary>
    public uint TriggerTid;
    /// <summary>uid</summary>
    public uint Uid;
    /// <summary>oom_score_adj</summary>
    public int OomScoreAdj;
    /// <summary>comm</summary>
    public fixed byte Comm[16];
    /// <summary>trigger_comm</summary>
    public fixed byte TriggerComm[16];
}
