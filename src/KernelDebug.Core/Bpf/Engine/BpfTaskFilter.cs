using KernelDebug.Core.Errors;

namespace KernelDebug.Core.Bpf.Engine;

/// <summary>
/// Which tasks a BPF tool counts, tested in the kernel by kd_filter.bpf.h: process ids, thread ids, and one cgroup
/// with everything below it (v1 or v2). Empty = every task.
/// </summary>
public sealed record BpfTaskFilter
{
    /// <summary>Most ids of each kind the kernel filter holds (KD_FILTER_MAX_IDS).</summary>
    public const int MaxIds = 16;

    /// <summary>Only these processes (thread group ids).</summary>
    public IReadOnlyList<int> ProcessIds { get; init; } = Array.Empty<int>();
    /// <summary>Only these threads.</summary>
    public IReadOnlyList<int> ThreadIds { get; init; } = Array.Empty<int>();
    /// <summary>Only tasks in this cgroup directory or below it (absolute, or relative to the v2 mount).</summary>
    public string? Cgroup { get; init; }

    /// <summary>Checks the bounds and resolves the cgroup; errors are InvalidArgument/ObjectNotFound with remedies.</summary>
    public CgroupTarget? Validate(KernelRoot root)
    {
        if (ProcessIds.Count > MaxIds)
            throw new KernelDebugException("TooManyProcessIds", KernelErrorCategory.InvalidArgument,
                $"At most {MaxIds} process ids can be filtered in the kernel; {ProcessIds.Count} were given.",
                "Give fewer -ProcessId values, or use -Name to match processes by command name, or -Cgroup.", ProcessIds.Count);
        if (ThreadIds.Count > MaxIds)
            throw new KernelDebugException("TooManyThreadIds", KernelErrorCategory.InvalidArgument,
                $"At most {MaxIds} thread ids can be filtered in the kernel; {ThreadIds.Count} were given.", "Give fewer -ThreadId values.", ThreadIds.Count);
        return Cgroup is null ? null : Cgroups.Resolve(root, Cgroup);
    }

    /// <summary>Writes the kd_filter_* globals of an opened object.</summary>
    public void Apply(BpfSession session, CgroupTarget? cgroup)
    {
        if (ProcessIds.Count > 0)
        {
            session.SetGlobal<uint>("kd_filter_tgids", ProcessIds.Select(p => (uint)p).ToArray());
            session.SetGlobal("kd_filter_ntgids", (uint)ProcessIds.Count);
        }
        if (ThreadIds.Count > 0)
        {
            session.SetGlobal<uint>("kd_filter_pids", ThreadIds.Select(p => (uint)p).ToArray());
            session.SetGlobal("kd_filter_npids", (uint)ThreadIds.Count);
        }
        if (cgroup is not null)
        {
            session.SetGlobal("kd_filter_cgroup_id", cgroup.Id);
            session.SetGlobal("kd_filter_cgroup_level", (uint)cgroup.Level);
            session.SetGlobal("kd_filter_cgroup_ssid", cgroup.SubsystemId);
        }
    }
}

/// <summary>What every BPF tool's options share: the task filter, BPF statistics, and the attach methods to try.</summary>
public record BpfToolOptions
{
    /// <summary>Which tasks are counted.</summary>
    public BpfTaskFilter Filter { get; init; } = new();
    /// <summary>
    /// Turn on kernel BPF statistics (sampled: 100 ms of every second) for OverheadPerEvent and ProgramRunTime. While
    /// on they cost two clock reads per program run for every BPF program on the machine.
    /// </summary>
    public bool ProgramStatistics { get; init; } = true;
    /// <summary>Attach methods to try, best first; null = the tool's preference.</summary>
    public IReadOnlyList<BpfAttachMethod>? AttachMethods { get; init; }
}
