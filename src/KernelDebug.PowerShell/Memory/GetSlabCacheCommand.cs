using System.Management.Automation;
using KernelDebug.Core.Memory;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Procfs;
using KernelDebug.Core.Sysfs;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Memory;

/// <summary>
/// <para type="synopsis">Gets the kernel's slab caches: objects, object size, memory held, reclaimability and merged aliases — or their growth between samples, to catch a slab leak.</para>
/// <para type="description">Get-SlabCache reads /proc/slabinfo (root only) and joins /sys/kernel/slab where the kernel has SLUB: the names merged into each cache (aliases) and whether it is reclaimable, and with -Detailed the requested object size, slab order, partial and per-CPU slabs and the SLAB_* flags. TotalBytes is slabs × pages per slab × page size, the CACHE SIZE slabtop shows. -Name filters with wildcards (tab completion lists the live caches), -MinimumSize keeps caches holding at least that many bytes, -Top keeps the largest. With -Interval it samples repeatedly and emits, per interval, the caches that changed with their growth in objects and bytes per second, largest first: leave it running while the leak happens. -Summary gives the totals slabtop prints in its header plus the reclaimable/unreclaimable split from /proc/meminfo. -Root reads a snapshot.</para>
/// </summary>
/// <example>
///   <code>Get-SlabCache -Top 10</code>
///   <para>The ten caches holding the most memory.</para>
/// </example>
/// <example>
///   <code>Get-SlabCache -MinimumSize 1MB | Sort-Object TotalBytes -Descending | Export-Csv slab.csv</code>
///   <para>Every cache over 1 MiB, largest first, saved for a later comparison.</para>
/// </example>
/// <example>
///   <code>Get-SlabCache -Interval 00:00:05 -Count 12 | Where-Object BytesPerSecond -gt 100KB</code>
///   <para>Samples for a minute and shows the caches growing faster than 100 KiB/s: a slab leak in progress.</para>
/// </example>
/// <example>
///   <code>Get-SlabCache -Summary</code>
///   <para>Total slab memory, how much of it is reclaimable, and the largest cache.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "SlabCache", DefaultParameterSetName = ListSet)]
[OutputType(typeof(SlabCache), ParameterSetName = [ListSet])]
[OutputType(typeof(SlabCacheGrowth), ParameterSetName = [IntervalSet])]
[OutputType(typeof(SlabSummary), ParameterSetName = [SummarySet])]
public sealed class GetSlabCacheCommand : SamplingReaderCmdlet
{
    private const string ListSet = "List", SummarySet = "Summary";

    /// <summary>
    /// <para type="description">Cache names to keep; wildcards allowed. Tab completion offers the caches of the live kernel, aliases included (an alias matches the cache it was merged into).</para>
    /// </summary>
    [Parameter(Position = 0, ParameterSetName = ListSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(Position = 0, ParameterSetName = IntervalSet, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(SlabCacheNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>
    /// <para type="description">Keeps the N caches holding the most memory (TotalBytes); with -Interval, the N fastest-growing caches of each interval.</para>
    /// </summary>
    [Parameter(ParameterSetName = ListSet)]
    [Parameter(ParameterSetName = IntervalSet)]
    [ValidateRange(1, int.MaxValue)]
    public int Top { get; set; }

    /// <summary>
    /// <para type="description">Keeps caches holding at least this many bytes (TotalBytes), e.g. 1MB.</para>
    /// </summary>
    [Parameter(ParameterSetName = ListSet)]
    [ValidateRange(0, long.MaxValue)]
    public long MinimumSize { get; set; }

    /// <summary>
    /// <para type="description">Also reads the requested object size, slab order, partial and per-CPU slabs and SLAB_* flags from /sys/kernel/slab (about a dozen small files per cache).</para>
    /// </summary>
    [Parameter(ParameterSetName = ListSet)]
    public SwitchParameter Detailed { get; set; }

    /// <summary>
    /// <para type="description">Returns one summary: cache and object counts, total and active slab memory, the largest cache, and the reclaimable and unreclaimable slab memory from /proc/meminfo.</para>
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = SummarySet)]
    public SwitchParameter Summary { get; set; }

    /// <inheritdoc />
    protected override void Process()
    {
        var ctx = new ParseContext(KernelRoot.Resolve(SlabReader.SlabInfoPath));
        if (Summary)
        {
            WriteObject(SlabReader.ReadSummary(KernelRoot, ctx));
            WriteIssues(ctx);
            return;
        }
        if (ParameterSetName == ListSet)
        {
            IEnumerable<SlabCache> caches = Filter(SlabReader.Read(KernelRoot, Detailed ? SlabDetail.Full : SlabDetail.Basic, ctx));
            if (MinimumSize > 0) caches = caches.Where(c => c.TotalBytes >= MinimumSize);
            if (Top > 0) caches = caches.OrderByDescending(c => c.TotalBytes).Take(Top);
            WriteIssues(ctx);
            foreach (var c in caches) WriteObject(c);
            return;
        }
        IReadOnlyList<SlabCache>? previous = null;
        Sample(i =>
        {
            var read = SlabReader.Read(KernelRoot, Name is { Length: > 0 } ? SlabDetail.Basic : SlabDetail.None, ctx);
            var now = i == 0 ? Filter(read).ToArray() : read.Where(c => _filter!.IsMatch([c.Name, .. c.Aliases])).ToArray();
            WriteIssues(ctx);
            if (previous is not null)
            {
                IEnumerable<SlabCacheGrowth> growth = SlabCacheGrowth.Between(previous, now);
                if (Top > 0) growth = growth.Take(Top);
                foreach (var g in growth) WriteObject(g);
            }
            previous = now;
        });
    }

    private NameFilter? _filter;

    private IEnumerable<SlabCache> Filter(IReadOnlyList<SlabCache> caches)
    {
        _filter = new NameFilter(Name);
        if (_filter.IsEmpty) return caches;
        var kept = caches.Where(c => _filter.IsMatch([c.Name, .. c.Aliases])).ToArray();
        _filter.ReportUnmatched(this, "SlabCacheNotFound", "slab cache", "Get-SlabCache lists the caches; merged caches are found by their aliases too.");
        return kept;
    }
}
