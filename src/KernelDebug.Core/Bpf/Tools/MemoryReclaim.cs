using KernelDebug.Core.Errors;

namespace KernelDebug.Core.Bpf.Tools;

/// <summary>How a task stalled to get memory (RECLAIM_* of reclaim.h).</summary>
public enum ReclaimKind
{
    /// <summary>Direct reclaim: the page allocator had too little free memory and the allocating task reclaimed it itself.</summary>
    Direct = 0,
    /// <summary>A memory cgroup at its limit: the charging task reclaimed from its cgroup.</summary>
    Memcg = 1,
    /// <summary>Cgroup v1 soft-limit reclaim.</summary>
    MemcgSoftLimit = 2,
    /// <summary>Direct compaction: the allocating task moved pages to make a contiguous block (higher-order allocations).</summary>
    Compaction = 3,
}

/// <summary>How Measure-MemoryReclaim groups (RECLAIM_BY_* of reclaim.h).</summary>
public enum ReclaimGrouping
{
    /// <summary>One record per kind.</summary>
    None = 0,
    /// <summary>Per process (and kind), with its cgroup.</summary>
    Process = 1,
    /// <summary>Per cgroup (and kind).</summary>
    Cgroup = 2,
}

/// <summary>
/// Stalls of one kind (direct reclaim, memory-cgroup reclaim, soft-limit reclaim, direct compaction) for one group
/// over one interval, measured in the kernel by Measure-MemoryReclaim: how many, how long, and the pages reclaimed.
/// </summary>
public sealed record MemoryReclaim : BpfDistribution
{
    /// <summary>The kind of stall.</summary>
    public ReclaimKind Kind { get; init; }
    /// <summary>Process id when grouped by process.</summary>
    public int? ProcessId { get; init; }
    /// <summary>Command of the process leader when grouped by process.</summary>
    public string? Command { get; init; }
    /// <summary>Cgroup path (in the -Cgroup hierarchy, else v2) when grouped by process or cgroup.</summary>
    public string? CgroupPath { get; init; }
    /// <summary>The container id the cgroup path holds, if any.</summary>
    public string? ContainerId { get; init; }
    /// <summary>Pages the stalls reclaimed (0 for compaction).</summary>
    public long PagesReclaimed { get; init; }
    /// <summary>The same in bytes.</summary>
    public long BytesReclaimed { get; init; }
    /// <summary>Times any task woke kswapd during the interval (machine-wide; the same on every record of the interval).</summary>
    public ulong KswapdWakeups { get; init; }
}

/// <summary>Options of Measure-MemoryReclaim.</summary>
public sealed record MemoryReclaimOptions : Engine.BpfToolOptions
{
    /// <summary>The kinds to measure (empty = all).</summary>
    public IReadOnlyList<ReclaimKind> Kinds { get; init; } = Array.Empty<ReclaimKind>();
    /// <summary>Grouping.</summary>
    public ReclaimGrouping GroupBy { get; init; }
    /// <summary>Only processes whose command matches (user space; needs Process grouping).</summary>
    public Func<string, bool>? CommandFilter { get; init; }
}

/// <summary>
/// The kernel side of Measure-MemoryReclaim: reclaim.bpf.c on the vmscan direct/memcg/soft-limit reclaim and the
/// compaction begin/end tracepoints (only the kinds asked for), plus wakeup_kswapd.
/// </summary>
public sealed class MemoryReclaimMeter : Engine.BpfTool<MemoryReclaim>
{
    private static readonly (ReclaimKind Kind, string Program, string Tracepoint)[] Pairs =
    [
        (ReclaimKind.Direct, "direct_reclaim", "vmscan:mm_vmscan_direct_reclaim"),
        (ReclaimKind.Memcg, "memcg_reclaim", "vmscan:mm_vmscan_memcg_reclaim"),
        (ReclaimKind.MemcgSoftLimit, "memcg_softlimit_reclaim", "vmscan:mm_vmscan_memcg_softlimit_reclaim"),
        (ReclaimKind.Compaction, "compaction", "compaction:mm_compaction"),
    ];
    private static readonly long PageSize = Environment.SystemPageSize;

    private readonly MemoryReclaimOptions _options;

    private MemoryReclaimMeter(KernelRoot root, MemoryReclaimOptions options) : base(root, options) => _options = options;

    /// <summary>Validates, loads and attaches. Errors are KernelDebugExceptions with remedies.</summary>
    public static MemoryReclaimMeter Start(KernelRoot root, MemoryReclaimOptions options, Action<string>? verbose = null) =>
        Launch(new MemoryReclaimMeter(root, options), verbose);

    private IEnumerable<(ReclaimKind Kind, string Program, string Tracepoint)> Wanted =>
        Pairs.Where(p => _options.Kinds.Count == 0 || _options.Kinds.Contains(p.Kind));

    /// <inheritdoc />
    protected override string ObjectName => "reclaim";
    /// <inheritdoc />
    protected override string? GenerationMap => "kd_rc_ctl";
    /// <inheritdoc />
    protected override Func<string, bool>? CountedRuns => name => name.EndsWith("_end", StringComparison.Ordinal);
    /// <inheritdoc />
    protected override IReadOnlyList<string> Tracepoints =>
        [.. Wanted.SelectMany(p => new[] { p.Tracepoint + "_begin", p.Tracepoint + "_end" }), "vmscan:mm_vmscan_wakeup_kswapd"];

    /// <inheritdoc />
    protected override IReadOnlyCollection<string> ProgramsFor(BpfAttachMethod method)
    {
        string m = method == BpfAttachMethod.TpBtf ? "kd_rc_tp_btf_" : "kd_rc_raw_tp_";
        return [.. Wanted.SelectMany(p => new[] { m + p.Program + "_begin", m + p.Program + "_end" }), m + "kswapd_wakeup"];
    }

    /// <inheritdoc />
    protected override void Validate()
    {
        if (_options.CommandFilter is not null && _options.GroupBy != ReclaimGrouping.Process)
            throw new KernelDebugException("NameNeedsProcessGrouping", KernelErrorCategory.InvalidArgument,
                "-Name matches processes, so it needs -GroupBy Process.", "Add -GroupBy Process, or leave out -Name.");
    }

    /// <inheritdoc />
    protected override void Configure(BpfSession session, BpfAttachMethod method) => session.SetGlobal("targ_group", (byte)_options.GroupBy);

    /// <inheritdoc />
    protected override IReadOnlyList<MemoryReclaim> Decode(Engine.BpfInterval interval)
    {
        var g = _options.GroupBy;
        static (uint Kind, uint Tgid, ulong Cgroup, string Comm) KeyOf(byte[] k)
        {
            var key = BpfAbi.Read<ReclaimKey>(k);
            return (key.Kind, key.Tgid, key.Cgroup, key.CommText());
        }
        var hists = interval.DrainHistograms("kd_rc_hist", KeyOf);
        var pagesMap = interval.Session.Map("kd_rc_pages");
        var pages = new Dictionary<(uint, uint, ulong, string), ulong>();
        foreach (var (k, v) in interval.Drain("kd_rc_pages"))
        {
            var key = KeyOf(k);
            pages[key] = pages.GetValueOrDefault(key) + BpfToolLoader.SumU64(pagesMap, v);
        }
        ulong dWakeups = interval.CounterDelta("kd_rc_stats", 0);

        var list = new List<MemoryReclaim>(hists.Count);
        foreach (var (key, h) in hists)
        {
            if (h.Count == 0) continue;
            if (_options.CommandFilter is { } f && !f(key.Comm)) continue;
            string? path = g == ReclaimGrouping.None ? null : CgroupNames.PathOf(key.Cgroup);
            long p = (long)pages.GetValueOrDefault(key);
            list.Add(new MemoryReclaim
            {
                Kind = (ReclaimKind)key.Kind,
                ProcessId = g == ReclaimGrouping.Process ? (int)key.Tgid : null,
                Command = g == ReclaimGrouping.Process ? key.Comm : null,
                CgroupPath = path,
                ContainerId = Engine.Cgroups.ContainerId(path),
                PagesReclaimed = p,
                BytesReclaimed = p * PageSize,
                KswapdWakeups = dWakeups,
                AttachMethod = AttachMethod,
                OverheadPerEvent = interval.OverheadPerEvent,
                MissedEvents = interval.MissedEvents,
                StartTime = interval.Start,
                EndTime = interval.End,
            }.Of(h));
        }
        list.Sort((a, b) => b.Total.CompareTo(a.Total));
        return list;
    }
}
