using System.Buffers.Binary;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Symbols;

namespace KernelDebug.Core.Bpf.Tools;

/// <summary>
/// The kernel side of Measure-LockContention: loads lockcont.bpf.c on lock:contention_begin/contention_end and turns
/// its maps into <see cref="LockContention"/> records per interval (generation flip: nothing lost between intervals).
/// Lock addresses of static locks and stack frames are symbolized through <see cref="KernelSymbolTable"/>.
/// </summary>
public sealed class LockContentionMeter : Engine.BpfTool<LockContention>
{
    internal const int StackDepth = 32;

    private static readonly Dictionary<BpfAttachMethod, string[]> Programs = new()
    {
        [BpfAttachMethod.TpBtf] = ["kd_lk_btf_begin", "kd_lk_btf_end"],
        [BpfAttachMethod.RawTp] = ["kd_lk_raw_begin", "kd_lk_raw_end"],
        [BpfAttachMethod.Tracepoint] = ["kd_lk_tp_begin", "kd_lk_tp_end"],
    };

    // Frames of the locking and tracing code itself: the caller is the first frame past them.
    private static readonly string[] InternalPrefixes =
    [
        "_raw_", "__raw_", "raw_", "do_raw_", "queued_", "native_queued_", "__pv_queued_", "pv_", "__mutex_", "mutex_lock", "mutex_trylock",
        "__down", "down_", "down", "rwsem_", "__rwsem_", "percpu_down_", "__percpu_down_", "percpu_rwsem_", "rt_mutex", "__rt_mutex", "rt_spin",
        "rtlock_", "lock_", "__lock_", "_lock", "spin_lock", "bpf_", "__bpf_", "__traceiter_", "__probestub_", "trace_contention", "perf_",
    ];

    private readonly LockContentionOptions _options;
    private readonly Lazy<KernelSymbolTable?> _symbolTable;
    // kallsyms is parsed on the first read, not before attach: attaching fast matters more than the first report.
    private KernelSymbolTable? _symbols => _symbolTable.Value;
    private readonly Dictionary<int, IReadOnlyList<StackFrame>> _stackCache = new();

    private LockContentionMeter(KernelRoot root, LockContentionOptions options, Action<string>? verbose)
        : base(root, options with { Filter = new Engine.BpfTaskFilter { ProcessIds = options.ProcessIds, Cgroup = options.Cgroup } })
    {
        _options = options;
        _symbolTable = KernelSymbolTable.LoadLater(root, verbose, "locks and stacks");
    }

    /// <summary>Checks the preconditions, loads and attaches. Errors are KernelDebugExceptions with remedies.</summary>
    public static LockContentionMeter Start(KernelRoot root, LockContentionOptions options, Action<string>? verbose = null) =>
        Launch(new LockContentionMeter(root, options, verbose), verbose);

    /// <inheritdoc />
    protected override string ObjectName => "lockcont";
    /// <inheritdoc />
    protected override string? GenerationMap => "kd_lk_ctl";
    /// <inheritdoc />
    protected override IReadOnlyList<BpfAttachMethod> Preference => [BpfAttachMethod.RawTp, BpfAttachMethod.TpBtf, BpfAttachMethod.Tracepoint];
    /// <inheritdoc />
    protected override IReadOnlyCollection<string> ProgramsFor(BpfAttachMethod method) => Programs[method];

    /// <inheritdoc />
    protected override void Validate()
    {
        if (_options.MinimumWait < TimeSpan.Zero)
            throw new KernelDebugException("InvalidMinimumWait", KernelErrorCategory.InvalidArgument, "-MinimumWait must not be negative.", null, _options.MinimumWait);
        if ((Root.DirectoryExists("sys/kernel/tracing/events") && !Root.DirectoryExists("sys/kernel/tracing/events/lock/contention_begin"))
            || (!Root.DirectoryExists("sys/kernel/tracing/events") && Root.DirectoryExists("sys/kernel/debug/tracing/events") && !Root.DirectoryExists("sys/kernel/debug/tracing/events/lock/contention_begin")))
            throw KernelErrors.FeatureMissing("LockTracepointsMissing", "the lock:contention_begin/contention_end tracepoints",
                "Boot a kernel of version 5.19 or later built with CONFIG_TRACEPOINTS=y (the contention tracepoints need no lockdep).", "lock:contention_begin");
    }

    /// <inheritdoc />
    protected override void Configure(BpfSession s, BpfAttachMethod method)
    {
        if (_options.ByCaller) s.SetGlobal("targ_by_caller", (byte)1);
        if (_options.ByProcess) s.SetGlobal("targ_by_process", (byte)1);
        if (_options.MinimumWait > TimeSpan.Zero) s.SetGlobal("targ_min_ns", (ulong)(_options.MinimumWait.Ticks * 100));
    }

    /// <inheritdoc />
    protected override IReadOnlyList<LockContention> Decode(Engine.BpfInterval interval)
    {
        var histMap = interval.Session.Map("kd_lk_hist");
        var groups = new Dictionary<(uint Flags, ulong Lock, int StackId, uint Tgid), (Histogram H, ulong Failed)>();
        foreach (var (k, v) in interval.Drain("kd_lk_hist"))
        {
            var key = BpfAbi.Read<LkKey>(k);
            var g = (key.Flags, key.Lock, key.StackId, key.Tgid);
            var (h, failed) = BpfToolLoader.SumHistogram(histMap, v);
            groups[g] = groups.TryGetValue(g, out var acc) ? (acc.H.Merge(h), acc.Failed + failed) : (h, failed);
        }
        ulong dMissed = interval.CounterDelta("kd_lk_stats", 0);

        var list = new List<LockContention>(groups.Count);
        foreach (var ((flags, lockAddr, stackId, tgid), (h, failed)) in groups)
        {
            if (h.Count == 0) continue;
            var f = (LockContentionFlags)flags;
            var stack = _options.ByCaller ? StackOf(stackId) : Array.Empty<StackFrame>();
            list.Add(new LockContention
            {
                LockAddress = _options.ByCaller ? null : lockAddr,
                LockSymbol = _options.ByCaller ? null : LockSymbolOf(lockAddr),
                LockType = LockContention.Kind(f),
                Flags = f,
                Caller = _options.ByCaller ? CallerOf(stack) : null,
                Stack = stack,
                ProcessId = _options.ByProcess ? (int)tgid : null,
                Count = h.Count,
                Failed = failed,
                TotalWait = BpfToolLoader.FromNanoseconds(h.Sum),
                MaxWait = BpfToolLoader.FromNanoseconds(h.Max),
                MeanWait = BpfToolLoader.FromNanoseconds(h.Mean),
                P50 = BpfToolLoader.FromNanoseconds(h.P50),
                P99 = BpfToolLoader.FromNanoseconds(h.P99),
                Histogram = h,
                AttachMethod = AttachMethod,
                OverheadPerEvent = interval.OverheadPerEvent,
                MissedBegins = dMissed,
                StartTime = interval.Start,
                EndTime = interval.End,
            });
        }
        list.Sort((a, b) => b.TotalWait.CompareTo(a.TotalWait));
        return list;
    }

    // Only kernel data symbols name a lock; heap addresses would otherwise "resolve" to whatever symbol precedes them.
    private string? LockSymbolOf(ulong address)
    {
        if (_symbols?.Resolve(address) is not { } loc) return null;
        if (loc.Symbol.Address < 0xffff_0000_0000_0000UL || loc.Symbol.Type is not ('d' or 'D' or 'b' or 'B' or 'r' or 'R')) return null;
        if (loc.Offset >= 1 << 16) return null;
        return _symbols.Symbolize(address);
    }

    private IReadOnlyList<StackFrame> StackOf(int stackId)
    {
        if (stackId < 0) return Array.Empty<StackFrame>();
        if (_stackCache.TryGetValue(stackId, out var cached)) return cached;
        var map = Session.Map("kd_lk_stacks");
        var key = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(key, stackId);
        var value = new byte[map.ReadValueSize];
        if (!map.TryLookup(key, value)) return Array.Empty<StackFrame>();
        return _stackCache[stackId] = TrimTracing(Symbolize(value, _symbols));
    }

    private static readonly string[] TracingPrefixes = ["bpf_trace_run", "__bpf_trace_", "bpf_prog_", "trace_call_bpf", "perf_trace_", "perf_tp_event", "__traceiter_", "__probestub_"];

    /// <summary>
    /// Drops the frames of the tracing machinery at the top of a stack taken in a tracepoint program (the BPF program
    /// itself, bpf_trace_run2, perf_trace_*): the stack then starts where the kernel hit the tracepoint.
    /// </summary>
    public static IReadOnlyList<StackFrame> TrimTracing(IReadOnlyList<StackFrame> frames)
    {
        int last = -1;
        for (int i = 0; i < Math.Min(frames.Count, 8); i++)
            if (TracingPrefixes.Any(p => frames[i].Function.StartsWith(p, StringComparison.Ordinal))) last = i;
        return last < 0 ? frames : frames.Skip(last + 1).ToList();
    }

    /// <summary>Kernel addresses of a stack map value (zero-terminated) as frames, innermost first.</summary>
    public static IReadOnlyList<StackFrame> Symbolize(ReadOnlySpan<byte> stackValue, KernelSymbolTable? symbols)
    {
        var frames = new List<StackFrame>();
        for (int i = 0; i + 8 <= stackValue.Length; i += 8)
        {
            ulong ip = BinaryPrimitives.ReadUInt64LittleEndian(stackValue.Slice(i, 8));
            if (ip == 0) break;
            frames.Add(symbols?.Resolve(ip)?.ToFrame() ?? new StackFrame { Function = $"0x{ip:x}", Address = ip, Reliable = false });
        }
        return frames;
    }

    /// <summary>The first frame outside the locking and tracing code, as text (function+offset), or null.</summary>
    public static string? CallerOf(IReadOnlyList<StackFrame> stack)
    {
        foreach (var f in stack)
            if (!InternalPrefixes.Any(p => f.Function.StartsWith(p, StringComparison.Ordinal)))
                return f.ToString();
        return stack.Count > 0 ? stack[^1].ToString() : null;
    }

}
