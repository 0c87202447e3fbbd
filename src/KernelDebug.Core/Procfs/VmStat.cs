using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Procfs;

/// <summary>
/// The <c>/proc/vmstat</c> counters a memory-pressure investigation reads first, as totals since boot.
/// Counts are pages or events, as the kernel keeps them; <see cref="Counters"/> holds every counter.
/// </summary>
public sealed record VmStat
{
    /// <summary>When the counters were read.</summary>
    public DateTimeOffset Timestamp { get; init; }
    /// <summary>Pages scanned by kswapd (background reclaim).</summary>
    public long PagesScannedKswapd { get; init; }
    /// <summary>Pages scanned by allocating tasks themselves (direct reclaim: the allocation waits).</summary>
    public long PagesScannedDirect { get; init; }
    /// <summary>Pages reclaimed by kswapd.</summary>
    public long PagesStolenKswapd { get; init; }
    /// <summary>Pages reclaimed in direct reclaim.</summary>
    public long PagesStolenDirect { get; init; }
    /// <summary>Allocations that stalled in direct reclaim (all <c>allocstall_*</c> zones).</summary>
    public long AllocationStalls { get; init; }
    /// <summary>Allocations that stalled in direct compaction.</summary>
    public long CompactionStalls { get; init; }
    /// <summary>Direct compactions that failed.</summary>
    public long CompactionFailures { get; init; }
    /// <summary>Direct compactions that succeeded.</summary>
    public long CompactionSuccesses { get; init; }
    /// <summary>Pages swapped in.</summary>
    public long SwapIns { get; init; }
    /// <summary>Pages swapped out.</summary>
    public long SwapOuts { get; init; }
    /// <summary>Tasks killed by the OOM killer.</summary>
    public long OomKills { get; init; }
    /// <summary>Transparent huge pages allocated at fault.</summary>
    public long ThpFaultAllocations { get; init; }
    /// <summary>THP faults that fell back to small pages.</summary>
    public long ThpFaultFallbacks { get; init; }
    /// <summary>Huge pages khugepaged collapsed.</summary>
    public long ThpCollapseAllocations { get; init; }
    /// <summary>Refaults of recently evicted anonymous pages (thrashing).</summary>
    public long WorkingsetRefaultsAnon { get; init; }
    /// <summary>Refaults of recently evicted file pages (thrashing); <c>workingset_refault</c> on older kernels.</summary>
    public long WorkingsetRefaultsFile { get; init; }
    /// <summary>Page faults.</summary>
    public long PageFaults { get; init; }
    /// <summary>Major page faults (needing I/O).</summary>
    public long MajorFaults { get; init; }
    /// <summary>Every counter of the file, in file order.</summary>
    public IReadOnlyDictionary<string, long> Counters { get; init => field = Flat.Map(value); } = FlatMap<string, long>.Empty;

    /// <summary>Builds the record from parsed counters.</summary>
    public static VmStat From(IReadOnlyDictionary<string, long> c, DateTimeOffset timestamp) => new()
    {
        Timestamp = timestamp,
        PagesScannedKswapd = VmStatParser.Sum(c, VmStatParser.ScanKswapd),
        PagesScannedDirect = VmStatParser.Sum(c, VmStatParser.ScanDirect),
        PagesStolenKswapd = VmStatParser.Sum(c, VmStatParser.StealKswapd),
        PagesStolenDirect = VmStatParser.Sum(c, VmStatParser.StealDirect),
        AllocationStalls = VmStatParser.Sum(c, VmStatParser.AllocStall),
        CompactionStalls = VmStatParser.Sum(c, "compact_stall"),
        CompactionFailures = VmStatParser.Sum(c, "compact_fail"),
        CompactionSuccesses = VmStatParser.Sum(c, "compact_success"),
        SwapIns = VmStatParser.Sum(c, "pswpin"),
        SwapOuts = VmStatParser.Sum(c, "pswpout"),
        OomKills = VmStatParser.Sum(c, "oom_kill"),
        ThpFaultAllocations = VmStatParser.Sum(c, "thp_fault_alloc"),
        ThpFaultFallbacks = VmStatParser.Sum(c, "thp_fault_fallback"),
        ThpCollapseAllocations = VmStatParser.Sum(c, "thp_collapse_alloc"),
        WorkingsetRefaultsAnon = VmStatParser.Sum(c, "workingset_refault_anon"),
        WorkingsetRefaultsFile = VmStatParser.Sum(c, "workingset_refault_file", "workingset_refault"),
        PageFaults = VmStatParser.Sum(c, "pgfault"),
        MajorFaults = VmStatParser.Sum(c, "pgmajfault"),
        Counters = c,
    };
}

/// <summary>
/// <see cref="VmStat"/> as rates between two samples: per second over <see cref="Interval"/>. This is the evidence
/// for "the application paused because the kernel was reclaiming": direct scanning and allocation stalls above zero.
/// </summary>
public sealed record VmStatRate
{
    /// <summary>Time of the second sample.</summary>
    public DateTimeOffset Timestamp { get; init; }
    /// <summary>Time between the samples.</summary>
    public TimeSpan Interval { get; init; }
    /// <summary>Pages scanned by kswapd per second.</summary>
    public double PagesScannedKswapd { get; init; }
    /// <summary>Pages scanned in direct reclaim per second.</summary>
    public double PagesScannedDirect { get; init; }
    /// <summary>Pages reclaimed by kswapd per second.</summary>
    public double PagesStolenKswapd { get; init; }
    /// <summary>Pages reclaimed in direct reclaim per second.</summary>
    public double PagesStolenDirect { get; init; }
    /// <summary>Reclaimed pages as a percentage of scanned ones (null when nothing was scanned).</summary>
    public double? ReclaimEfficiencyPercent { get; init; }
    /// <summary>Allocation stalls per second.</summary>
    public double AllocationStalls { get; init; }
    /// <summary>Compaction stalls per second.</summary>
    public double CompactionStalls { get; init; }
    /// <summary>Compaction failures per second.</summary>
    public double CompactionFailures { get; init; }
    /// <summary>Pages swapped in per second.</summary>
    public double SwapIns { get; init; }
    /// <summary>Pages swapped out per second.</summary>
    public double SwapOuts { get; init; }
    /// <summary>OOM kills in the interval (a count, not a rate: one is already news).</summary>
    public long OomKills { get; init; }
    /// <summary>THP fault allocations per second.</summary>
    public double ThpFaultAllocations { get; init; }
    /// <summary>THP fault fallbacks per second.</summary>
    public double ThpFaultFallbacks { get; init; }
    /// <summary>Anonymous workingset refaults per second.</summary>
    public double WorkingsetRefaultsAnon { get; init; }
    /// <summary>File workingset refaults per second.</summary>
    public double WorkingsetRefaultsFile { get; init; }
    /// <summary>Page faults per second.</summary>
    public double PageFaults { get; init; }
    /// <summary>Major faults per second.</summary>
    public double MajorFaults { get; init; }
    /// <summary>Per-second rate of every counter that changed (gauges such as <c>nr_free_pages</c> give their change per second).</summary>
    public IReadOnlyDictionary<string, double> Rates { get; init => field = Flat.Map(value); } = FlatMap<string, double>.Empty;

    /// <summary>The rates from <paramref name="before"/> to <paramref name="after"/>.</summary>
    public static VmStatRate Between(VmStat before, VmStat after)
    {
        var interval = after.Timestamp - before.Timestamp;
        double s = interval.TotalSeconds > 0 ? interval.TotalSeconds : double.PositiveInfinity;
        var rates = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (k, v) in after.Counters)
            if (before.Counters.TryGetValue(k, out long old) && v != old) rates[k] = ((double)v - old) / s; // in double: two longs of opposite sign can differ by more than a long holds
        double scanned = ((double)after.PagesScannedKswapd + after.PagesScannedDirect) - ((double)before.PagesScannedKswapd + before.PagesScannedDirect);
        double stolen = ((double)after.PagesStolenKswapd + after.PagesStolenDirect) - ((double)before.PagesStolenKswapd + before.PagesStolenDirect);
        return new VmStatRate
        {
            Timestamp = after.Timestamp,
            Interval = interval,
            PagesScannedKswapd = ((double)after.PagesScannedKswapd - before.PagesScannedKswapd) / s,
            PagesScannedDirect = ((double)after.PagesScannedDirect - before.PagesScannedDirect) / s,
            PagesStolenKswapd = ((double)after.PagesStolenKswapd - before.PagesStolenKswapd) / s,
            PagesStolenDirect = ((double)after.PagesStolenDirect - before.PagesStolenDirect) / s,
            ReclaimEfficiencyPercent = scanned > 0 ? Math.Round(100 * stolen / scanned, 1) : null,
            AllocationStalls = ((double)after.AllocationStalls - before.AllocationStalls) / s,
            CompactionStalls = ((double)after.CompactionStalls - before.CompactionStalls) / s,
            CompactionFailures = ((double)after.CompactionFailures - before.CompactionFailures) / s,
            SwapIns = ((double)after.SwapIns - before.SwapIns) / s,
            SwapOuts = ((double)after.SwapOuts - before.SwapOuts) / s,
            OomKills = after.OomKills - before.OomKills,
            ThpFaultAllocations = ((double)after.ThpFaultAllocations - before.ThpFaultAllocations) / s,
            ThpFaultFallbacks = ((double)after.ThpFaultFallbacks - before.ThpFaultFallbacks) / s,
            WorkingsetRefaultsAnon = ((double)after.WorkingsetRefaultsAnon - before.WorkingsetRefaultsAnon) / s,
            WorkingsetRefaultsFile = ((double)after.WorkingsetRefaultsFile - before.WorkingsetRefaultsFile) / s,
            PageFaults = ((double)after.PageFaults - before.PageFaults) / s,
            MajorFaults = ((double)after.MajorFaults - before.MajorFaults) / s,
            Rates = rates,
        };
    }
}

/// <summary>One counter of <c>/proc/vmstat</c>, for <c>Get-VmStat -Name</c>.</summary>
/// <param name="Name">Counter name.</param>
/// <param name="Value">Value at the (second) sample.</param>
/// <param name="Delta">Change since the previous sample; null for a single read.</param>
/// <param name="PerSecond">Change per second; null for a single read.</param>
/// <param name="Timestamp">When it was read.</param>
public sealed record VmStatCounter(string Name, long Value, long? Delta, double? PerSecond, DateTimeOffset Timestamp)
{
    /// <summary>One row per counter of <paramref name="now"/> whose name <paramref name="match"/> accepts, with no change (totals).</summary>
    public static IEnumerable<VmStatCounter> Of(VmStat now, Func<string, bool> match) =>
        now.Counters.Where(kv => match(kv.Key)).Select(kv => new VmStatCounter(kv.Key, kv.Value, null, null, now.Timestamp));

    /// <summary>
    /// One row per counter of <paramref name="after"/> whose name <paramref name="match"/> accepts: its value, its change since
    /// <paramref name="before"/> (0 for a counter that appeared) and that change per second.
    /// </summary>
    public static IEnumerable<VmStatCounter> Between(VmStat before, VmStat after, Func<string, bool> match)
    {
        double secs = (after.Timestamp - before.Timestamp).TotalSeconds;
        foreach (var (k, value) in after.Counters)
        {
            if (!match(k)) continue;
            long d = before.Counters.TryGetValue(k, out long old) ? value - old : 0;
            yield return new VmStatCounter(k, value, d, secs > 0 ? d / secs : 0, after.Timestamp);
        }
    }
}

/// <summary>Parses <c>/proc/vmstat</c> ("name value" per line).</summary>
public static class VmStatParser
{
    internal static readonly string[] ScanKswapd = ["pgscan_kswapd", "pgscan_kswapd_normal", "pgscan_kswapd_dma", "pgscan_kswapd_dma32", "pgscan_kswapd_movable"];
    internal static readonly string[] ScanDirect = ["pgscan_direct", "pgscan_direct_normal", "pgscan_direct_dma", "pgscan_direct_dma32", "pgscan_direct_movable"];
    internal static readonly string[] StealKswapd = ["pgsteal_kswapd", "pgsteal_kswapd_normal", "pgsteal_kswapd_dma", "pgsteal_kswapd_dma32", "pgsteal_kswapd_movable"];
    internal static readonly string[] StealDirect = ["pgsteal_direct", "pgsteal_direct_normal", "pgsteal_direct_dma", "pgsteal_direct_dma32", "pgsteal_direct_movable"];
    internal static readonly string[] AllocStall = ["allocstall", "allocstall_dma", "allocstall_dma32", "allocstall_normal", "allocstall_movable", "allocstall_device"];

    /// <summary>Every well-formed counter, in file order; bad lines go to <paramref name="ctx"/>.</summary>
    public static IReadOnlyDictionary<string, long> Parse(ReadOnlySpan<char> text, ParseContext ctx)
    {
        var result = new OrderedDictionary<string, long>(StringComparer.Ordinal);
        int n = 0;
        foreach (var line in text.EnumerateLines())
        {
            n++;
            if (line.IsWhiteSpace()) continue;
            var f = Fields.Split(line);
            var name = f.Next();
            var value = f.Next();
            if (!Fields.TryLong(value, out long v) || !f.Next().IsEmpty || !IsName(name)) { ctx.Warn(n, "expected 'name value'", line); continue; }
            result[name.ToString()] = v;
        }
        return result;
    }

    /// <summary>The sum of the counters present among <paramref name="names"/> (kernels renamed and split several).</summary>
    public static long Sum(IReadOnlyDictionary<string, long> c, params string[] names)
    {
        // Counters are each in range; their sum may not be.
        return Fields.SumSaturating(names.Where(c.ContainsKey), n => c[n]);
    }

    private static bool IsName(ReadOnlySpan<char> s)
    {
        if (s.IsEmpty) return false;
        foreach (char ch in s) if (!(char.IsAsciiLetterOrDigit(ch) || ch == '_')) return false;
        return true;
    }
}
