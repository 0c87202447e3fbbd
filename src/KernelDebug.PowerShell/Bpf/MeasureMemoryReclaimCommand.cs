using System.Management.Automation;
using KernelDebug.Core;
using KernelDebug.Core.Bpf.Tools;

namespace KernelDebug.PowerShell.Bpf;

/// <summary>
/// <para type="synopsis">Measures how long tasks stall reclaiming memory themselves with eBPF: direct reclaim, memory-cgroup reclaim, soft-limit reclaim and direct compaction, with counts, percentiles, a histogram and the pages reclaimed, per process or cgroup (drsnoop and beyond).</para>
/// <para type="description">Measure-MemoryReclaim attaches a small precompiled CO-RE BPF program (kd_rc_*) to the vmscan tracepoints mm_vmscan_direct_reclaim_begin/end, mm_vmscan_memcg_reclaim_begin/end and mm_vmscan_memcg_softlimit_reclaim_begin/end and to mm_compaction_begin/end (direct compaction only; kcompactd's background work stalls no one), raw_tp first, else tp_btf. Each stall, from begin to end in the same thread, goes into a log-linear histogram of its kind and group, with the pages it reclaimed; KswapdWakeups counts the machine's kswapd wakeups in the interval. This answers "are my application's pauses the kernel reclaiming memory?": a Java GC pause that lines up with Direct or Memcg stalls of its process is the kernel's doing, not the collector's. -Kind measures only some kinds (and loads only their programs); -GroupBy Process or Cgroup splits the records, with the cgroup path and container id. -ProcessId, -ThreadId and -Cgroup filter in the kernel, -Name by command (with -GroupBy Process). Sampling works as Get-Counter's: -Duration (one result), -Interval (a sample; -Count N samples), -Continuous, or until Ctrl+C. Everything loaded is gone when the command returns. Needs root, or CAP_BPF and CAP_PERFMON, and a kernel with BTF.</para>
/// </summary>
/// <example>
///   <code>Measure-MemoryReclaim -GroupBy Process -Duration 60 | Sort-Object Total -Descending | Select-Object -First 5 Kind, ProcessId, Command, Count, Total, P99, Max, BytesReclaimed</code>
///   <para>A minute of reclaim stalls: the five processes that spent the most time reclaiming memory themselves.</para>
/// </example>
/// <example>
///   <code>Measure-MemoryReclaim -Name java -GroupBy Process -Interval 1 -Continuous | Where-Object Max -gt ([timespan]::FromMilliseconds(100))</code>
///   <para>Every second in which a java process stalled more than 100 ms in one reclaim: line these up with its GC log.</para>
/// </example>
/// <example>
///   <code>Measure-MemoryReclaim -Kind Memcg -GroupBy Cgroup -Duration 30 | Format-Histogram</code>
///   <para>Memory-cgroup reclaim per cgroup (containers at their memory limit), drawn as histograms.</para>
/// </example>
[Cmdlet(VerbsDiagnostic.Measure, "MemoryReclaim")]
[OutputType(typeof(MemoryReclaim))]
public sealed class MeasureMemoryReclaimCommand : TaskMeasureCmdlet
{
    /// <summary>
    /// <para type="description">Direct, Memcg, MemcgSoftLimit, Compaction, or any of them (default: all).</para>
    /// </summary>
    [Parameter(Position = 0)]
    public ReclaimKind[]? Kind { get; set; }

    /// <summary>
    /// <para type="description">One record per kind and Process or Cgroup (default: one per kind; with -Name, per process).</para>
    /// </summary>
    [Parameter]
    public ReclaimGrouping? GroupBy { get; set; }

    /// <inheritdoc />
    protected override string Activity => "Measuring memory reclaim stalls";

    /// <inheritdoc />
    protected override IBpfMeter<object> StartMeter(Action<string> verbose) =>
        MemoryReclaimMeter.Start(KernelRoot.Live, new MemoryReclaimOptions
        {
            Kinds = Kind?.Distinct().ToArray() ?? [],
            GroupBy = GroupBy ?? (Name is { Length: > 0 } ? ReclaimGrouping.Process : ReclaimGrouping.None),
            CommandFilter = CommandFilter,
            Filter = TaskFilter,
            ProgramStatistics = !NoProgramStatistics,
        }, verbose);
}
