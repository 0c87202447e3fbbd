using System.Management.Automation;
using KernelDebug.Core;
using KernelDebug.Core.Bpf.Tools;

namespace KernelDebug.PowerShell.Bpf;

/// <summary>
/// What the BPF cmdlets that follow tasks share (the scheduler and process-event tools): -ProcessId (kernel filter,
/// pipeline by Id), -ThreadId, -Name (command wildcard).
/// Not generic, so the help generator finds the parameters' docs under this type's name.
/// </summary>
public abstract class TaskMeasureCmdlet : BpfMeasureCmdlet
{
    private readonly List<int> _pids = new();

    /// <summary>
    /// <para type="description">Only these processes (process ids, filtered in the kernel; at most 16). Binds Id from pipeline input, so Get-Process output can be piped in.</para>
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "Pid")]
    public int[]? ProcessId { get; set; }

    /// <summary>
    /// <para type="description">Only these threads (thread ids, filtered in the kernel; at most 16).</para>
    /// </summary>
    [Parameter]
    [Alias("Tid")]
    public int[]? ThreadId { get; set; }

    /// <summary>
    /// <para type="description">Only processes or threads whose command name (comm, at most 15 characters) matches one of these wildcard patterns.</para>
    /// </summary>
    [Parameter]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ProcessNameCompleter))]
    public string[]? Name { get; set; }

    /// <inheritdoc />
    protected override void Process()
    {
        if (ProcessId is not null) _pids.AddRange(ProcessId);
    }

    /// <summary>The task filter of -ProcessId, -ThreadId and -Cgroup.</summary>
    protected Core.Bpf.Engine.BpfTaskFilter TaskFilter => Filter(_pids, ThreadId);

    /// <summary>The -Name patterns as a predicate, or null.</summary>
    protected Func<string, bool>? CommandFilter => new Infrastructure.NameFilter(Name) is { IsEmpty: false } f ? c => f.IsMatch(c) : null;

    /// <summary>The grouping, with -Name needing a per-process one.</summary>
    protected SchedulerGrouping Grouping(SchedulerGrouping? asked) => asked ?? (Name is { Length: > 0 } ? SchedulerGrouping.Process : SchedulerGrouping.None);
}

/// <summary>Completes command names of running processes.</summary>
public sealed class ProcessNameCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        System.Management.Automation.Language.CommandAst commandAst, System.Collections.IDictionary fakeBoundParameters)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _)) continue;
            try { names.Add(File.ReadAllText(Path.Combine(dir, "comm")).Trim()); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        var pattern = new WildcardPattern(wordToComplete.Trim('\'', '"') + "*", WildcardOptions.IgnoreCase);
        foreach (var n in names.Where(n => pattern.IsMatch(n)))
            yield return new CompletionResult(n.Contains(' ') ? $"'{n}'" : n, n, CompletionResultType.ParameterValue, n);
    }
}

/// <summary>
/// <para type="synopsis">Measures run-queue latency with eBPF: how long runnable tasks wait for a CPU, as a histogram with percentiles, in total or per process, thread, CPU or cgroup (runqlat).</para>
/// <para type="description">Measure-RunQueueLatency attaches a small precompiled CO-RE BPF program (kd_rq_*) to the sched_wakeup, sched_wakeup_new and sched_switch tracepoints (raw_tp, else tp_btf): a task's time from becoming runnable (woken, created, or preempted while runnable) to being switched in goes into a log-linear histogram, like libbpf-tools' runqlat. -GroupBy Process, Thread, Cpu or Cgroup splits the records; records grouped by process, thread or cgroup carry the cgroup path and the container id it holds. -ProcessId, -ThreadId and -Cgroup filter in the kernel, -Name by command name; -MinimumLatency counts only longer waits. Sampling works as Get-Counter's: -Duration (one result), -Interval (a sample; -Count N samples), -Continuous, or until Ctrl+C. OverheadPerEvent reports the BPF cost per program run. Everything loaded is gone when the command returns, also on error and Ctrl+C. Needs root, or CAP_BPF and CAP_PERFMON, and a kernel with BTF.</para>
/// </summary>
/// <example>
///   <code>Measure-RunQueueLatency -Duration 0:0:5 | Format-Histogram</code>
///   <para>Five seconds of machine-wide run-queue latency drawn as libbpf-tools' runqlat draws it.</para>
/// </example>
/// <example>
///   <code>Measure-RunQueueLatency -GroupBy Process -Duration 0:0:10 | Sort-Object P99 -Descending | Select-Object -First 5 ProcessId, Command, Count, P50, P99, ContainerId</code>
///   <para>The five processes that waited longest for a CPU (99th percentile), with their containers.</para>
/// </example>
/// <example>
///   <code>Measure-RunQueueLatency -GroupBy Cpu -Interval 0:0:1 -Count 10</code>
///   <para>Ten one-second samples per CPU: which CPUs are oversubscribed.</para>
/// </example>
[Cmdlet(VerbsDiagnostic.Measure, "RunQueueLatency")]
[OutputType(typeof(RunQueueLatency))]
public sealed class MeasureRunQueueLatencyCommand : TaskMeasureCmdlet
{
    /// <summary>
    /// <para type="description">One record per Process, Thread, Cpu or Cgroup (default: one for everything; with -Name, per process).</para>
    /// </summary>
    [Parameter]
    public SchedulerGrouping? GroupBy { get; set; }

    /// <summary>
    /// <para type="description">Counts only waits at least this long.</para>
    /// </summary>
    [Parameter]
    public TimeSpan MinimumLatency { get; set; }

    /// <inheritdoc />
    protected override string Activity => "Measuring run-queue latency";

    /// <inheritdoc />
    protected override IBpfMeter<object> StartMeter(Action<string> verbose) =>
        RunQueueLatencyMeter.Start(KernelRoot.Live, new RunQueueLatencyOptions
        {
            Filter = TaskFilter,
            GroupBy = Grouping(GroupBy),
            CommandFilter = CommandFilter,
            MinimumLatency = MinimumLatency,
            ProgramStatistics = !NoProgramStatistics,
        }, verbose);
}

/// <summary>
/// <para type="synopsis">Measures how long tasks run on a CPU each time they are scheduled (time slices), or with -OffCpu how long they are off it between runs, as histograms with eBPF (cpudist).</para>
/// <para type="description">Measure-CpuTimeSlice attaches a small precompiled CO-RE BPF program (kd_cd_*) to the sched_switch tracepoint (raw_tp, else tp_btf): each slice from switch-in to switch-out (or, with -OffCpu, from switch-out to the next switch-in) goes into a log-linear histogram, like libbpf-tools' cpudist. -GroupBy Process, Thread, Cpu or Cgroup splits the records; -ProcessId, -ThreadId, -Cgroup filter in the kernel, -Name by command name. Sampling works as Get-Counter's (-Duration, -Interval, -Count, -Continuous, or until Ctrl+C). Everything loaded is gone when the command returns. Needs root, or CAP_BPF and CAP_PERFMON, and a kernel with BTF.</para>
/// </summary>
/// <example>
///   <code>Measure-CpuTimeSlice -GroupBy Process -Duration 0:0:5 | Sort-Object Total -Descending | Select-Object -First 10 Command, Count, P50, P99, Total</code>
///   <para>The ten processes with the most CPU time, and how long their slices are.</para>
/// </example>
/// <example>
///   <code>Get-Process nginx | Measure-CpuTimeSlice -OffCpu -Duration 0:0:10 | Format-Histogram</code>
///   <para>How long nginx's threads stay off the CPU between runs.</para>
/// </example>
[Cmdlet(VerbsDiagnostic.Measure, "CpuTimeSlice")]
[OutputType(typeof(CpuTimeSlice))]
public sealed class MeasureCpuTimeSliceCommand : TaskMeasureCmdlet
{
    /// <summary>
    /// <para type="description">One record per Process, Thread, Cpu or Cgroup (default: one for everything; with -Name, per process).</para>
    /// </summary>
    [Parameter]
    public SchedulerGrouping? GroupBy { get; set; }

    /// <summary>
    /// <para type="description">Measures the time off-CPU between two slices instead of the slices.</para>
    /// </summary>
    [Parameter]
    public SwitchParameter OffCpu { get; set; }

    /// <inheritdoc />
    protected override string Activity => OffCpu ? "Measuring off-CPU time between slices" : "Measuring CPU time slices";

    /// <inheritdoc />
    protected override IBpfMeter<object> StartMeter(Action<string> verbose) =>
        CpuTimeSliceMeter.Start(KernelRoot.Live, new CpuTimeSliceOptions
        {
            Filter = TaskFilter,
            GroupBy = Grouping(GroupBy),
            CommandFilter = CommandFilter,
            OffCpu = OffCpu,
            ProgramStatistics = !NoProgramStatistics,
        }, verbose);
}

/// <summary>
/// <para type="synopsis">Measures where threads block off-CPU with eBPF: time per thread and kernel + user stack, and with -IncludeWaker the stack of the task that woke them (offcputime, offwaketime), ready for off-CPU flame graphs.</para>
/// <para type="description">Measure-OffCpuTime attaches a small precompiled CO-RE BPF program (kd_oc_*) to sched_switch (and sched_wakeup with -IncludeWaker), with raw_tp, else tp_btf. When a thread leaves the CPU in one of the -State states its kernel and user stacks are captured; when it runs again the time is added to that (thread, stacks) pair. With -IncludeWaker the kernel stack of the task that woke it is added too, what bcc's offwaketime shows and libbpf-tools does not. Records carry Stack (kernel then user frames, innermost first), Total, Blocks, WakerStack, the cgroup path and container id, and Count in microseconds, so they feed ConvertTo-FoldedStack | Export-FlameGraph -Palette OffCpu directly (the waker's stack stands inverted on top after "--"). -MinimumBlock and -MaximumBlock bound the blocks counted. -ProcessId, -ThreadId and -Cgroup filter in the kernel, -Name by command name. Sampling works as Get-Counter's. Everything loaded is gone when the command returns. Needs root, or CAP_BPF and CAP_PERFMON, and a kernel with BTF.</para>
/// </summary>
/// <example>
///   <code>Measure-OffCpuTime -ProcessId (Get-Process postgres).Id -Duration 0:0:10 | ConvertTo-FoldedStack | Export-FlameGraph -Path offcpu.svg -Palette OffCpu</code>
///   <para>An off-CPU flame graph of postgres: where its threads waited, weighted by microseconds.</para>
/// </example>
/// <example>
///   <code>Measure-OffCpuTime -State Uninterruptible -MinimumBlock 0:0:0.01 -Duration 0:0:5 | Select-Object -First 5 Command, Total, Blocks, StackText</code>
///   <para>The five longest uninterruptible (D state) waits of at least 10 ms, with where they happened.</para>
/// </example>
/// <example>
///   <code>Measure-OffCpuTime -Name myapp -IncludeWaker -Duration 0:0:5 | Select-Object -First 3 Total, StackText, WakerCommand, WakerStackText</code>
///   <para>Who woke myapp's threads, and from where.</para>
/// </example>
[Cmdlet(VerbsDiagnostic.Measure, "OffCpuTime")]
[OutputType(typeof(OffCpuTime))]
public sealed class MeasureOffCpuTimeCommand : TaskMeasureCmdlet
{
    /// <summary>
    /// <para type="description">Task states counted: Interruptible (S), Uninterruptible (D), Stopped, Traced, Parked, Preempted (runnable, waiting for a CPU). Default: every blocked state.</para>
    /// </summary>
    [Parameter]
    public OffCpuStates[] State { get; set; } = [OffCpuStates.Blocked];

    /// <summary>
    /// <para type="description">Counts only blocks at least this long.</para>
    /// </summary>
    [Parameter]
    public TimeSpan MinimumBlock { get; set; }

    /// <summary>
    /// <para type="description">Counts only blocks at most this long.</para>
    /// </summary>
    [Parameter]
    public TimeSpan? MaximumBlock { get; set; }

    /// <summary>
    /// <para type="description">Also records the kernel stack of the task that woke each blocked thread (WakerStack, WakerCommand).</para>
    /// </summary>
    [Parameter]
    public SwitchParameter IncludeWaker { get; set; }

    /// <summary>
    /// <para type="description">Kernel stacks only (no user stacks).</para>
    /// </summary>
    [Parameter]
    public SwitchParameter KernelOnly { get; set; }

    /// <summary>
    /// <para type="description">Size of the kernel table of distinct stacks (1 to 262144, default 16384; 256 bytes each).</para>
    /// </summary>
    [Parameter]
    [ValidateRange(1, 1 << 18)]
    public int MaxStacks { get; set; } = 16384;

    /// <inheritdoc />
    protected override string Activity => "Measuring off-CPU time";

    /// <inheritdoc />
    protected override IBpfMeter<object> StartMeter(Action<string> verbose) =>
        OffCpuTimeMeter.Start(KernelRoot.Live, new OffCpuTimeOptions
        {
            Filter = TaskFilter,
            States = State.Aggregate(OffCpuStates.None, (a, b) => a | b),
            MinimumBlock = MinimumBlock,
            MaximumBlock = MaximumBlock,
            IncludeWaker = IncludeWaker,
            KernelOnly = KernelOnly,
            MaxStacks = MaxStacks,
            CommandFilter = CommandFilter,
            ProgramStatistics = !NoProgramStatistics,
        }, verbose);
}
