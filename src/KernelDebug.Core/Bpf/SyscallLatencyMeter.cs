using System.Buffers.Binary;
using System.Text;
using KernelDebug.Core.Bpf.Native;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Symbols;

namespace KernelDebug.Core.Bpf;

/// <summary>What Measure-SyscallLatency measures.</summary>
public sealed record SyscallLatencyOptions : Engine.BpfToolOptions
{
    /// <summary>Only these processes (thread group ids); empty = all. At most 16.</summary>
    public IReadOnlyList<int> ProcessIds { get; init; } = Array.Empty<int>();
    /// <summary>Only tasks in this cgroup directory or below (v1 or v2; filtered in the kernel).</summary>
    public string? Cgroup { get; init; }
    /// <summary>Only processes whose command name matches (applied in user space on the per-process keys).</summary>
    public Func<string, bool>? CommandFilter { get; init; }
    /// <summary>Only these syscall numbers; null = all.</summary>
    public IReadOnlyCollection<int>? SyscallIds { get; init; }
    /// <summary>Group by process as well as by syscall.</summary>
    public bool ByProcess { get; init; }
    /// <summary>Count only failed calls.</summary>
    public bool FailedOnly { get; init; }
    /// <summary>Count only calls failing with this errno (positive).</summary>
    public int? Errno { get; init; }
}

/// <summary>
/// The kernel side of Measure-SyscallLatency: loads syslat.bpf.c with the filters, attaches it with the best method
/// the kernel offers, and turns its maps into <see cref="SyscallLatency"/> records per interval. Intervals are cut
/// without losing calls: the programs write one generation of keys while the previous one is drained.
/// </summary>
public sealed class SyscallLatencyMeter : Engine.BpfTool<SyscallLatency>
{
    internal const int MaxSyscallIds = 512, CommLength = 16, KeySize = 32;

    private static readonly Dictionary<BpfAttachMethod, string[]> Programs = new()
    {
        [BpfAttachMethod.TpBtf] = ["kd_sl_btf_enter", "kd_sl_btf_exit"],
        [BpfAttachMethod.RawTp] = ["kd_sl_raw_enter", "kd_sl_raw_exit"],
        [BpfAttachMethod.Tracepoint] = ["kd_sl_tp_enter", "kd_sl_tp_exit"],
    };

    /// <summary>BPF statistics are sampled (the one way every tool measures its cost): on for this long of every second.</summary>
    internal static readonly TimeSpan StatsWindow = Tools.BpfOverheadTracker.Window;

    private readonly SyscallLatencyOptions _options;
    private readonly bool _perProcess;
    private readonly SyscallTable _table = SyscallTable.X86_64;
    private ulong _lastDropped, _lastExits;

    private SyscallLatencyMeter(KernelRoot root, SyscallLatencyOptions options)
        : base(root, options with { Filter = new Engine.BpfTaskFilter { ProcessIds = options.ProcessIds, Cgroup = options.Cgroup } })
    {
        _options = options;
        _perProcess = options.ByProcess || options.CommandFilter is not null;
    }

    /// <summary>
    /// Checks the preconditions, then loads and attaches with the first attach method that works (raw_tp, tp_btf,
    /// tracepoint). Errors are terminating KernelDebugExceptions with remedies.
    /// </summary>
    public static SyscallLatencyMeter Start(KernelRoot root, SyscallLatencyOptions options, Action<string>? verbose = null) =>
        Launch(new SyscallLatencyMeter(root, options), verbose);

    /// <inheritdoc />
    protected override string ObjectName => "syslat";
    /// <inheritdoc />
    protected override string? GenerationMap => "kd_sl_ctl";
    // This tool reads only scalar arguments (id, ret), so tp_btf's typed access buys nothing, while libbpf parses the
    // kernel's whole BTF (~6 MB) to resolve a tp_btf target: 3-5x the start time of raw_tp. Same per-call cost.
    /// <inheritdoc />
    protected override IReadOnlyList<BpfAttachMethod> Preference => [BpfAttachMethod.RawTp, BpfAttachMethod.TpBtf, BpfAttachMethod.Tracepoint];
    /// <inheritdoc />
    protected override IReadOnlyCollection<string> ProgramsFor(BpfAttachMethod method) => Programs[method];
    /// <summary>The cost per traced call: both programs' run time over the runs of the exit program.</summary>
    protected override Func<string, bool>? CountedRuns => name => name.EndsWith("_exit", StringComparison.Ordinal);

    /// <inheritdoc />
    protected override void Validate()
    {
        if (_options.SyscallIds?.FirstOrDefault(id => id is < 0 or >= MaxSyscallIds) is { } bad && _options.SyscallIds.Any(id => id is < 0 or >= MaxSyscallIds))
            throw new KernelDebugException("SyscallIdOutOfRange", KernelErrorCategory.InvalidArgument,
                $"System call number {bad} is outside the range the kernel filter covers (0-{MaxSyscallIds - 1}).", null, bad);
    }

    /// <inheritdoc />
    protected override void Configure(BpfSession s, BpfAttachMethod method)
    {
        // tp_btf and raw_tp keep call entries in task storage, tracepoint in a tid hash: create only the one in use.
        s.SkipMap(method == BpfAttachMethod.Tracepoint ? "kd_sl_task" : "kd_sl_start");
        var o = _options;
        if (o.SyscallIds is not null)
        {
            var bits = new ulong[MaxSyscallIds / 64];
            foreach (var id in o.SyscallIds) bits[id >> 6] |= 1UL << (id & 63);
            s.SetGlobal<ulong>("targ_ids", bits);
            s.SetGlobal("targ_filter_ids", (byte)1);
        }
        if (o.FailedOnly || o.Errno is not null) s.SetGlobal("targ_failed_only", (byte)1);
        if (o.Errno is { } errno) s.SetGlobal("targ_errno", errno);
        if (_perProcess) s.SetGlobal("targ_per_process", (byte)1);
    }

    /// <inheritdoc />
    protected override IReadOnlyList<SyscallLatency> Decode(Engine.BpfInterval interval)
    {
        var histMap = interval.Session.Map("kd_sl_hist");
        var errMap = interval.Session.Map("kd_sl_errs");
        var hists = interval.Drain("kd_sl_hist");
        var errs = interval.Drain("kd_sl_errs");
        ulong dropped = interval.Counter("kd_sl_stats", 0 /* SL_STAT_DROPPED_EXITS */), exits = interval.Counter("kd_sl_stats", 2 /* SL_STAT_EXITS */);
        ulong dDropped = dropped - _lastDropped, dExits = exits - _lastExits;
        (_lastDropped, _lastExits) = (dropped, exits);

        // Group key: (syscall, tgid, process command) when grouping by process, else syscall alone (both generations merge here).
        var groups = new Dictionary<(int Id, uint Tgid, string Comm), (Histogram H, ulong Errors, Dictionary<string, ulong> ByErrno)>();
        (int, uint, string)? GroupOf(byte[] k)
        {
            var key = Tools.BpfAbi.Read<Tools.SlKey>(k);
            uint tgid = key.Tgid;
            int id = (int)key.Id;
            string comm = key.CommText();
            // The key holds the thread's comm (".NET TP Worker"); -Name means the process's command, as the help says.
            string process = ProcessCommand(tgid) ?? comm;
            if (_options.CommandFilter is { } f && !f(process) && !f(comm)) return null;
            comm = process;
            return _options.ByProcess ? (id, tgid, comm) : (id, 0u, "");
        }
        foreach (var (k, v) in hists)
        {
            if (GroupOf(k) is not { } g) continue;
            var (h, errors) = Tools.BpfToolLoader.SumHistogram(histMap, v);
            groups[g] = groups.TryGetValue(g, out var acc) ? (acc.H.Merge(h), acc.Errors + errors, acc.ByErrno) : (h, errors, new Dictionary<string, ulong>());
        }
        foreach (var (k, v) in errs)
        {
            if (GroupOf(k) is not { } g || !groups.TryGetValue(g, out var acc)) continue;
            string name = ErrnoNames.NameOf(Tools.BpfAbi.Read<Tools.SlKey>(k).Err);
            acc.ByErrno[name] = acc.ByErrno.GetValueOrDefault(name) + Tools.BpfToolLoader.SumU64(errMap, v);
        }

        // Per call from the sampled windows; the interval's run time from the exits the program counts itself.
        double? overhead = interval.OverheadPerEvent;
        TimeSpan? programTime = overhead is { } o ? Tools.BpfToolLoader.FromNanoseconds(o * dExits) : null;
        var list = new List<SyscallLatency>(groups.Count);
        foreach (var (g, acc) in groups)
        {
            if (acc.H.Count == 0) continue;
            list.Add(Record(g.Id, _options.ByProcess ? (int)g.Tgid : null, _options.ByProcess ? g.Comm : null, acc.H, acc.Errors, acc.ByErrno,
                overhead, programTime, dDropped, interval.MissedEvents, interval.Start, interval.End));
        }
        list.Sort((a, b) => b.Total.CompareTo(a.Total));
        return list;
    }

    private readonly Dictionary<uint, string?> _processCommands = new();

    /// <summary>The command of a process (its main thread's comm, /proc/TGID/comm), cached; null once it has exited.</summary>
    private string? ProcessCommand(uint tgid)
    {
        if (_processCommands.TryGetValue(tgid, out var c)) return c;
        c = KernelRoot.Live.TryReadValue($"proc/{tgid}/comm");
        if (_processCommands.Count > 4096) _processCommands.Clear();
        return _processCommands[tgid] = c;
    }

    private SyscallLatency Record(int id, int? pid, string? comm, Histogram h, ulong errors, IReadOnlyDictionary<string, ulong> byErrno,
        double? overhead, TimeSpan? programTime, ulong dropped, ulong missed, DateTimeOffset start, DateTimeOffset end) => new SyscallLatency
    {
        Syscall = _table.NameOf(id),
        SyscallId = id,
        ProcessId = pid,
        Command = comm,
        Errors = errors,
        ErrorsByErrno = byErrno,
        AttachMethod = AttachMethod,
        OverheadPerEvent = overhead,
        ProgramRunTime = programTime,
        DroppedExits = dropped,
        MissedEvents = missed,
        StartTime = start,
        EndTime = end,
    }.Of(h);
}
