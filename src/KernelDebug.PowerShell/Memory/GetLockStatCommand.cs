using System.Management.Automation;
using KernelDebug.Core.Locking;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Procfs;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Memory;

/// <summary>
/// <para type="synopsis">Gets lock contention and hold-time statistics per lock class (/proc/lock_stat), lockdep's lock classes (/proc/lockdep) or its counters (/proc/lockdep_stats).</para>
/// <para type="description">Get-LockStat reads the lock statistics of a kernel built with CONFIG_LOCK_STAT: one LockStat per lock class (and read or write side), with contention and acquisition counts, their cross-CPU bounces, minimum/maximum/total/average wait and hold times, and the call sites that waited for the lock and that held it meanwhile. -Top keeps the most contended classes, -Name filters classes with wildcards. -Class returns the lock classes lockdep tracks, with their forward and backward dependency counts, IRQ usage and direct dependencies (CONFIG_LOCKDEP, counts with CONFIG_PROVE_LOCKING); -Statistics returns lockdep's counters with their compiled-in limits. Production kernels have neither option: the command then stops with an error naming the option, and contention on such kernels is measured with BPF instead. -Root reads a snapshot or fixture tree.</para>
/// </summary>
/// <example>
///   <code>Get-LockStat -Top 10</code>
///   <para>The ten most contended lock classes, with their wait and hold times.</para>
/// </example>
/// <example>
///   <code>Get-LockStat | Sort-Object WaitTimeTotal -Descending | Select-Object -First 5 Class, Access, Contentions, WaitTimeTotal, @{ n = 'WaitedAt'; e = { $_.ContentionPoints.Frame.Function -join ', ' } }</code>
///   <para>Where the most time was lost waiting, and the functions that waited.</para>
/// </example>
/// <example>
///   <code>Get-LockStat -Statistics | Where-Object UsedPercent -gt 80</code>
///   <para>lockdep tables close to their limit (when one fills, lockdep turns itself off).</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "LockStat", DefaultParameterSetName = StatSet)]
[OutputType(typeof(LockStat), ParameterSetName = [StatSet])]
[OutputType(typeof(LockdepClass), ParameterSetName = [ClassSet])]
[OutputType(typeof(LockdepStatistic), ParameterSetName = [StatisticsSet])]
public sealed class GetLockStatCommand : KernelReaderCmdlet
{
    private const string StatSet = "LockStat", ClassSet = "Class", StatisticsSet = "Statistics";

    /// <summary>
    /// <para type="description">Lock class names to keep (wildcards allowed), e.g. '&amp;mm-&gt;mmap_lock' or '*rq*'.</para>
    /// </summary>
    [Parameter(Position = 0, ParameterSetName = StatSet)]
    [Parameter(Position = 0, ParameterSetName = ClassSet)]
    [SupportsWildcards]
    public string[]? Name { get; set; }

    /// <summary>
    /// <para type="description">Keeps the N classes with the most contentions (with -Class: the most dependencies).</para>
    /// </summary>
    [Parameter(ParameterSetName = StatSet)]
    [Parameter(ParameterSetName = ClassSet)]
    [ValidateRange(1, int.MaxValue)]
    public int Top { get; set; }

    /// <summary>
    /// <para type="description">Returns lockdep's lock classes (/proc/lockdep) instead of statistics.</para>
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = ClassSet)]
    public SwitchParameter Class { get; set; }

    /// <summary>
    /// <para type="description">Returns lockdep's own counters and limits (/proc/lockdep_stats).</para>
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = StatisticsSet)]
    public SwitchParameter Statistics { get; set; }

    /// <inheritdoc />
    protected override void Process()
    {
        var ctx = new ParseContext(KernelRoot.Path);
        var patterns = Name?.Select(n => WildcardPattern.Get(n, WildcardOptions.IgnoreCase)).ToArray();
        switch (ParameterSetName)
        {
            case StatisticsSet:
                var stats = LockReader.ReadStatistics(KernelRoot, ctx);
                WriteIssues(ctx);
                foreach (var s in stats) WriteObject(s);
                break;
            case ClassSet:
                IEnumerable<LockdepClass> classes = LockReader.ReadClasses(KernelRoot, ctx);
                WriteIssues(ctx);
                if (patterns is not null) classes = classes.Where(c => patterns.Any(p => p.IsMatch(c.Name)));
                if (Top > 0) classes = classes.OrderByDescending(c => (c.ForwardDependencies ?? 0) + (c.BackwardDependencies ?? 0)).Take(Top);
                foreach (var c in classes) WriteObject(c);
                break;
            default:
                IEnumerable<LockStat> locks = LockReader.ReadLockStat(KernelRoot, ctx, out bool? collecting);
                WriteIssues(ctx);
                if (collecting == false)
                    WriteWarning("Lock statistics collection is off (kernel.lock_stat = 0): the numbers are as of when it was switched off. Start it with 'echo 1 > /proc/sys/kernel/lock_stat'.");
                if (patterns is not null) locks = locks.Where(c => patterns.Any(p => p.IsMatch(c.Class)));
                if (Top > 0) locks = locks.OrderByDescending(c => c.Contentions).Take(Top);
                foreach (var l in locks) WriteObject(l);
                break;
        }
    }
}
