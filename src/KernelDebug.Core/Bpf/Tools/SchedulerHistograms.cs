using KernelDebug.Core.Bpf.Engine;

namespace KernelDebug.Core.Bpf.Tools;

/// <summary>How the scheduler histogram tools group (SCHED_BY_* of sched.h).</summary>
public enum SchedulerGrouping
{
    /// <summary>One histogram for everything.</summary>
    None = 0,
    /// <summary>Per process (thread group).</summary>
    Process = 1,
    /// <summary>Per thread.</summary>
    Thread = 2,
    /// <summary>Per CPU.</summary>
    Cpu = 3,
    /// <summary>Per cgroup.</summary>
    Cgroup = 4,
}

/// <summary>A latency or time distribution of the scheduler for one group over one interval.</summary>
public abstract record SchedulerHistogram : BpfDistribution, IUncountedEvents
{
    /// <summary>
    /// Values of the interval not counted (all groups): the kernel had no row for them (SCHED_STAT_HIST_FULL: the table
    /// of groups was full, or the BPF allocator had no memory at hand in the scheduler's context for a new group's row).
    /// </summary>
    public ulong Uncounted { get; init; }
    /// <summary>Process id when grouped by process (null otherwise).</summary>
    public int? ProcessId { get; init; }
    /// <summary>Thread id when grouped by thread.</summary>
    public int? ThreadId { get; init; }
    /// <summary>Command name (of the process leader, or of the thread) when grouped by process or thread.</summary>
    public string? Command { get; init; }
    /// <summary>CPU when grouped by CPU.</summary>
    public int? Cpu { get; init; }
    /// <summary>Cgroup path (in the -Cgroup hierarchy, else v2) when grouped by process, thread or cgroup.</summary>
    public string? CgroupPath { get; init; }
    /// <summary>The container id the cgroup path holds (docker, containerd, cri-o, podman), if any.</summary>
    public string? ContainerId { get; init; }
    /// <summary>The programs' run time over the interval, all CPUs (estimated from the sampled statistics).</summary>
    public TimeSpan? ProgramRunTime { get; init; }
}

/// <summary>Run-queue latency: time from becoming runnable to running (Measure-RunQueueLatency).</summary>
public sealed record RunQueueLatency : SchedulerHistogram;

/// <summary>Time per scheduling slice on a CPU, or off it with OffCpu (Measure-CpuTimeSlice).</summary>
public sealed record CpuTimeSlice : SchedulerHistogram
{
    /// <summary>True when the values are times off-CPU between slices.</summary>
    public bool OffCpu { get; init; }
}

/// <summary>What the scheduler histogram tools share.</summary>
public record SchedulerHistogramOptions : BpfToolOptions
{
    /// <summary>Grouping.</summary>
    public SchedulerGrouping GroupBy { get; init; }
    /// <summary>Only groups whose command matches (user space; needs Process or Thread grouping).</summary>
    public Func<string, bool>? CommandFilter { get; init; }
}

/// <summary>Options of Measure-RunQueueLatency.</summary>
public sealed record RunQueueLatencyOptions : SchedulerHistogramOptions
{
    /// <summary>Only latencies at least this long are counted.</summary>
    public TimeSpan MinimumLatency { get; init; }
}

/// <summary>Options of Measure-CpuTimeSlice.</summary>
public sealed record CpuTimeSliceOptions : SchedulerHistogramOptions
{
    /// <summary>Measure time off-CPU between slices instead.</summary>
    public bool OffCpu { get; init; }
}

/// <summary>
/// The two histogram tools of the scheduler (runqlat.bpf.c, cpudist.bpf.c) on the engine: programs per method, the
/// grouping global, and sched_hist_key → record.
/// </summary>
public abstract class SchedulerHistogramTool<TRecord> : BpfTool<TRecord> where TRecord : SchedulerHistogram
{
    private readonly SchedulerHistogramOptions _options;
    private readonly string _prefix;
    private readonly string[] _programs;

    private protected SchedulerHistogramTool(KernelRoot root, SchedulerHistogramOptions options, string prefix, string[] programs) : base(root, options)
    {
        _options = options;
        _prefix = prefix;
        _programs = programs;
    }

    /// <inheritdoc />
    protected override string? GenerationMap => $"{_prefix}_ctl";
    /// <inheritdoc />
    protected override IReadOnlyCollection<string> ProgramsFor(BpfAttachMethod method) =>
        _programs.Select(p => $"{_prefix}_{(method == BpfAttachMethod.TpBtf ? "btf" : "raw")}_{p}").ToArray();
    /// <inheritdoc />
    protected override void Configure(BpfSession session, BpfAttachMethod method) => session.SetGlobal("targ_group", (byte)_options.GroupBy);

    /// <summary>A record of the tool's type from the shared fields.</summary>
    protected abstract TRecord Create();

    /// <inheritdoc />
    protected override IReadOnlyList<TRecord> Decode(BpfInterval interval)
    {
        var g = _options.GroupBy;
        var hists = interval.DrainHistograms($"{_prefix}_hist", k =>
        {
            var key = BpfAbi.Read<SchedHistKey>(k);
            return (key.Id, key.Cgroup, Comm: g is SchedulerGrouping.Process or SchedulerGrouping.Thread ? key.CommText() : "");
        });
        ulong dUncounted = interval.CounterDelta($"{_prefix}_stats", 1 /* SCHED_STAT_HIST_FULL */);
        var list = new List<TRecord>(hists.Count);
        foreach (var ((id, cgroup, comm), h) in hists)
        {
            if (h.Count == 0) continue;
            if (_options.CommandFilter is { } f && comm.Length > 0 && !f(comm)) continue;
            string? path = g is SchedulerGrouping.None or SchedulerGrouping.Cpu ? null : CgroupNames.PathOf(cgroup);
            list.Add((Create() with
            {
                ProcessId = g == SchedulerGrouping.Process ? (int)id : null,
                ThreadId = g == SchedulerGrouping.Thread ? (int)id : null,
                Command = comm.Length > 0 ? comm : null,
                Cpu = g == SchedulerGrouping.Cpu ? (int)id : null,
                CgroupPath = path,
                ContainerId = Cgroups.ContainerId(path),
                AttachMethod = AttachMethod,
                OverheadPerEvent = interval.OverheadPerEvent,
                MissedEvents = interval.MissedEvents,
                Uncounted = dUncounted,
                ProgramRunTime = interval.ProgramRunTime,
                StartTime = interval.Start,
                EndTime = interval.End,
            }).Of(h));
        }
        list.Sort((a, b) => b.Total.CompareTo(a.Total));
        return list;
    }
}

/// <summary>Measure-RunQueueLatency's tool: runqlat.bpf.c on sched_wakeup, sched_wakeup_new and sched_switch.</summary>
public sealed class RunQueueLatencyMeter : SchedulerHistogramTool<RunQueueLatency>
{
    private readonly RunQueueLatencyOptions _options;

    private RunQueueLatencyMeter(KernelRoot root, RunQueueLatencyOptions options) : base(root, options, "kd_rq", ["wakeup", "wakeup_new", "switch"]) => _options = options;

    /// <summary>Validates, loads and attaches. Errors are KernelDebugExceptions with remedies.</summary>
    public static RunQueueLatencyMeter Start(KernelRoot root, RunQueueLatencyOptions options, Action<string>? verbose = null) =>
        Launch(new RunQueueLatencyMeter(root, options), verbose);

    /// <inheritdoc />
    protected override string ObjectName => "runqlat";
    /// <inheritdoc />
    protected override void Validate()
    {
        if (_options.MinimumLatency < TimeSpan.Zero)
            throw new Errors.KernelDebugException("InvalidMinimumLatency", Errors.KernelErrorCategory.InvalidArgument, "-MinimumLatency must not be negative.", null, _options.MinimumLatency);
    }
    /// <inheritdoc />
    protected override void Configure(BpfSession session, BpfAttachMethod method)
    {
        base.Configure(session, method);
        session.SetGlobal("targ_min_ns", (ulong)_options.MinimumLatency.Ticks * 100);
    }
    /// <inheritdoc />
    protected override RunQueueLatency Create() => new();
}

/// <summary>Measure-CpuTimeSlice's tool: cpudist.bpf.c on sched_switch.</summary>
public sealed class CpuTimeSliceMeter : SchedulerHistogramTool<CpuTimeSlice>
{
    private readonly CpuTimeSliceOptions _options;

    private CpuTimeSliceMeter(KernelRoot root, CpuTimeSliceOptions options) : base(root, options, "kd_cd", ["switch"]) => _options = options;

    /// <summary>Validates, loads and attaches. Errors are KernelDebugExceptions with remedies.</summary>
    public static CpuTimeSliceMeter Start(KernelRoot root, CpuTimeSliceOptions options, Action<string>? verbose = null) =>
        Launch(new CpuTimeSliceMeter(root, options), verbose);

    /// <inheritdoc />
    protected override string ObjectName => "cpudist";
    /// <inheritdoc />
    protected override void Configure(BpfSession session, BpfAttachMethod method)
    {
        base.Configure(session, method);
        if (_options.OffCpu) session.SetGlobal("targ_offcpu", (byte)1);
    }
    /// <inheritdoc />
    protected override CpuTimeSlice Create() => new() { OffCpu = _options.OffCpu };
}
