using KernelDebug.Core.Errors;
using KernelDebug.Core.Procfs;

namespace KernelDebug.Core.Bpf.Tools;

/// <summary>Hard interrupt handler or softirq vector (IRQ_KIND_* of irqtime.h).</summary>
public enum InterruptKind
{
    /// <summary>A hard IRQ handler (irq_handler_entry/exit), one per irqaction.</summary>
    Hard = 0,
    /// <summary>A softirq vector (softirq_entry/exit): TIMER, NET_RX, RCU ...</summary>
    Soft = 1,
}

/// <summary>
/// Time spent in one hard IRQ handler or one softirq vector (on one CPU with -PerCpu) over one interval, measured in
/// the kernel by Measure-InterruptTime: runs, total, exact min/mean/max and interpolated percentiles.
/// </summary>
public sealed record InterruptTime : BpfDistribution, IUncountedEvents
{
    /// <summary>Hard or Soft.</summary>
    public InterruptKind Kind { get; init; }
    /// <summary>IRQ number (Hard) or softirq vector number (Soft).</summary>
    public int Irq { get; init; }
    /// <summary>Handler name (Hard, the irqaction's name as /proc/interrupts shows it) or vector name (Soft: TIMER, NET_RX ...).</summary>
    public string Name { get; init; } = "";
    /// <summary>CPU with -PerCpu; null when summed over CPUs.</summary>
    public int? Cpu { get; init; }
    /// <summary>Handler runs that returned IRQ_NONE (the interrupt was not this handler's: shared line or spurious); 0 for Soft.</summary>
    public ulong Unhandled { get; init; }
    /// <summary>Runs per second over the interval.</summary>
    public double PerSecond { get; init; }
    /// <summary>Share of CPU time spent here, in percent: of one CPU with -PerCpu, else of all CPUs.</summary>
    public double CpuPercent { get; init; }
    /// <summary>
    /// Runs of any handler or vector in the interval that the kernel could not count, because no row could be added
    /// for them (the table was full, or the BPF allocator had no memory at hand in interrupt context, which happens to
    /// a new row's first runs under load). The same on every record of the interval.
    /// </summary>
    public ulong Uncounted { get; init; }
}

/// <summary>What Measure-InterruptTime measures.</summary>
public sealed record InterruptTimeOptions : Engine.BpfToolOptions
{
    /// <summary>Hard, Soft or both (empty = both).</summary>
    public IReadOnlyList<InterruptKind> Kinds { get; init; } = Array.Empty<InterruptKind>();
    /// <summary>A record per CPU.</summary>
    public bool PerCpu { get; init; }
    /// <summary>Only handlers or vectors whose name (or IRQ number) matches; null = all.</summary>
    public Func<string, bool>? NameFilter { get; init; }
}

/// <summary>
/// The kernel side of Measure-InterruptTime: irqtime.bpf.c on irq_handler_entry/exit and softirq_entry/exit (only
/// the kinds asked for are loaded), one <see cref="InterruptTime"/> per handler or vector and interval.
/// </summary>
public sealed class InterruptTimeMeter : Engine.BpfTool<InterruptTime>
{
    private readonly InterruptTimeOptions _options;
    private IReadOnlyList<string> _softirqNames = InterruptsReader.DefaultSoftirqNames;
    private int _cpus = 1;

    private InterruptTimeMeter(KernelRoot root, InterruptTimeOptions options) : base(root, options) => _options = options;

    /// <summary>Validates, loads and attaches. Errors are KernelDebugExceptions with remedies.</summary>
    public static InterruptTimeMeter Start(KernelRoot root, InterruptTimeOptions options, Action<string>? verbose = null) =>
        Launch(new InterruptTimeMeter(root, options), verbose);

    private bool Wants(InterruptKind k) => _options.Kinds.Count == 0 || _options.Kinds.Contains(k);

    /// <inheritdoc />
    protected override string ObjectName => "irqtime";
    /// <inheritdoc />
    protected override string? GenerationMap => "kd_irq_ctl";
    /// <inheritdoc />
    protected override Func<string, bool>? CountedRuns => name => name.EndsWith("_exit", StringComparison.Ordinal);

    /// <inheritdoc />
    protected override IReadOnlyList<string> Tracepoints =>
        [.. Wants(InterruptKind.Hard) ? ["irq:irq_handler_entry", "irq:irq_handler_exit"] : Array.Empty<string>(),
         .. Wants(InterruptKind.Soft) ? ["irq:softirq_entry", "irq:softirq_exit"] : Array.Empty<string>()];

    /// <inheritdoc />
    protected override IReadOnlyCollection<string> ProgramsFor(BpfAttachMethod method)
    {
        string p = method == BpfAttachMethod.TpBtf ? "kd_irq_btf_" : "kd_irq_raw_";
        var list = new List<string>(4);
        if (Wants(InterruptKind.Hard)) list.AddRange([p + "hard_entry", p + "hard_exit"]);
        if (Wants(InterruptKind.Soft)) list.AddRange([p + "soft_entry", p + "soft_exit"]);
        return list;
    }

    /// <inheritdoc />
    protected override void Validate()
    {
        var f = _options.Filter;
        if (f.ProcessIds.Count > 0 || f.ThreadIds.Count > 0 || f.Cgroup is not null)
            throw new KernelDebugException("InterruptsHaveNoTask", KernelErrorCategory.InvalidArgument,
                "Interrupts run on behalf of no process or cgroup (they borrow whichever task was on the CPU), so they cannot be filtered by one.",
                "Leave out -Cgroup and any process filter; narrow with -Name (handler or vector) and -PerCpu instead.");
        _softirqNames = InterruptsReader.ReadSoftirqs(Root).Select(s => s.Name).ToArray();
        _cpus = Math.Max(1, Parsing.CpuList.Online(Root).Count);
    }

    /// <inheritdoc />
    protected override void Configure(BpfSession session, BpfAttachMethod method)
    {
        if (_options.PerCpu) session.SetGlobal("targ_per_cpu", (byte)1);
    }

    /// <inheritdoc />
    protected override IReadOnlyList<InterruptTime> Decode(Engine.BpfInterval interval)
    {
        var map = interval.Session.Map("kd_irq_hist");
        var groups = new Dictionary<(uint Kind, uint Vector, uint Cpu, string Name), (Histogram H, ulong Unhandled)>();
        foreach (var (k, v) in interval.Drain("kd_irq_hist"))
        {
            var key = BpfAbi.Read<IrqKey>(k);
            var g = (key.Kind, key.Vector, key.Cpu, key.NameText());
            var (h, unhandled) = BpfToolLoader.SumHistogram(map, v);
            groups[g] = groups.TryGetValue(g, out var acc) ? (acc.H.Merge(h), acc.Unhandled + unhandled) : (h, unhandled);
        }
        ulong dUncounted = interval.CounterDelta("kd_irq_stats", 0);
        double cpuSeconds = interval.Seconds * (_options.PerCpu ? 1 : _cpus);
        var list = new List<InterruptTime>(groups.Count);
        foreach (var ((kind, vector, cpu, name), (h, unhandled)) in groups)
        {
            if (h.Count == 0) continue;
            var k = kind == 0 ? InterruptKind.Hard : InterruptKind.Soft;
            string display = k == InterruptKind.Soft ? (vector < _softirqNames.Count ? _softirqNames[(int)vector] : $"SOFTIRQ{vector}") : name;
            if (_options.NameFilter is { } f && !f(display) && !f(vector.ToString(System.Globalization.CultureInfo.InvariantCulture))) continue;
            list.Add(new InterruptTime
            {
                Kind = k,
                Irq = (int)vector,
                Name = display,
                Cpu = cpu == uint.MaxValue ? null : (int)cpu,
                Unhandled = unhandled,
                PerSecond = h.Count / interval.Seconds,
                CpuPercent = h.Sum / 1e9 / cpuSeconds * 100,
                Uncounted = dUncounted,
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
