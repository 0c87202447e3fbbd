using System.Management.Automation;
using KernelDebug.Core;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Procfs;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Memory;

/// <summary>
/// <para type="synopsis">Gets the kernel's virtual-memory counters (/proc/vmstat): reclaim scanning and stealing, allocation and compaction stalls, swapping, OOM kills, THP and refaults — as totals, or as rates per second with -Interval.</para>
/// <para type="description">Get-VmStat reads /proc/vmstat. Without -Interval it returns one VmStat with the counters a memory-pressure investigation reads first (pages scanned and reclaimed by kswapd and in direct reclaim, allocation stalls over all zones, compaction stalls and failures, swap-ins and -outs, OOM kills, THP fault allocations and fallbacks, workingset refaults, page faults) and every counter in Counters. With -Interval it returns a VmStatRate per interval: the same figures per second, the reclaim efficiency, and the rate of every counter that changed. Direct scanning and allocation stalls above zero mean applications are waiting for the kernel to free memory — the cause of unexplained pauses (for example GC pauses) under memory pressure. -Name picks counters by name (wildcards) and returns one row per counter. -Root reads a snapshot.</para>
/// </summary>
/// <example>
///   <code>Get-VmStat | Select-Object PagesScannedDirect, AllocationStalls, CompactionStalls, OomKills</code>
///   <para>Has this machine ever reclaimed memory directly, stalled allocations, or killed a task for memory since boot?</para>
/// </example>
/// <example>
///   <code>Get-VmStat -Interval 00:00:01 -Count 30 | Where-Object { $_.PagesScannedDirect -gt 0 -or $_.AllocationStalls -gt 0 }</code>
///   <para>Watches for 30 seconds and shows only the seconds in which tasks had to reclaim memory themselves.</para>
/// </example>
/// <example>
///   <code>Get-VmStat -Name pgscan*, pgsteal* -Interval 00:00:05 -Count 1 | Sort-Object PerSecond -Descending | Export-Csv reclaim.csv</code>
///   <para>Per-second rates of every scan and steal counter over five seconds, saved as CSV.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "VmStat", DefaultParameterSetName = TotalSet)]
[OutputType(typeof(VmStat), ParameterSetName = [TotalSet])]
[OutputType(typeof(VmStatRate), ParameterSetName = [IntervalSet])]
[OutputType(typeof(VmStatCounter))]
public sealed class GetVmStatCommand : SamplingReaderCmdlet
{
    private const string TotalSet = "Total";
    private const string VmStatPath = "proc/vmstat";

    /// <summary>
    /// <para type="description">Counter names to return, one row each (wildcards allowed, e.g. pgscan*). With -Interval the rows carry the change and the rate per second.</para>
    /// </summary>
    [Parameter(Position = 0, ParameterSetName = TotalSet)]
    [Parameter(Position = 0, ParameterSetName = IntervalSet)]
    [SupportsWildcards]
    public string[] Name { get; set; } = [];

    /// <inheritdoc />
    protected override void Process()
    {
        var ctx = new ParseContext(KernelRoot.Resolve(VmStatPath));
        var plan = Plan;
        var filter = new NameFilter(Name);
        bool Match(string counter) => filter.IsMatch(counter);
        bool perCounter = Name.Length > 0;
        if (plan is null)
        {
            var v = Read(ctx);
            WriteIssues(ctx);
            if (!perCounter) WriteObject(v);
            else foreach (var c in VmStatCounter.Of(v, Match)) WriteObject(c);
            filter.ReportUnmatched(this, "VmStatCounterNotFound", "/proc/vmstat counter");
            return;
        }
        VmStat? previous = null;
        Sample(_ =>
        {
            var now = Read(ctx);
            WriteIssues(ctx);
            if (previous is not null)
            {
                if (!perCounter) WriteObject(VmStatRate.Between(previous, now));
                else foreach (var c in VmStatCounter.Between(previous, now, Match)) WriteObject(c);
            }
            else
            {
                foreach (var k in now.Counters.Keys) filter.IsMatch(k);
                filter.ReportUnmatched(this, "VmStatCounterNotFound", "/proc/vmstat counter");
            }
            previous = now;
        });
    }

    private VmStat Read(ParseContext ctx)
    {
        var now = DateTimeOffset.Now;
        string text = KernelRoot.ReadText(VmStatPath, "procfs (mount -t proc proc /proc)");
        return VmStat.From(VmStatParser.Parse(text, ctx), now);
    }
}
