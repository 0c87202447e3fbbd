using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using KernelDebug.Core.Bpf.Native;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Symbols;

namespace KernelDebug.Core.Bpf;

/// <summary>What Measure-SyscallLatency measures.</summary>
public sealed record SyscallLatencyOptions
{
    /// <summary>Only these processes (thread group ids); empty = all. At most 16.</summary>
    public IReadOnlyList<int> ProcessIds { get; init; } = Array.Empty<int>();
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
    /// <summary>
    /// Turn on kernel BPF statistics while measuring, for OverheadPerEvent and ProgramRunTime. They cost two clock
    /// reads per program run, for every BPF program on the machine, while on.
    /// </summary>
    public bool ProgramStatistics { get; init; } = true;
    /// <summary>Attach methods to try, best first; null = what the kernel offers.</summary>
    public IReadOnlyList<BpfAttachMethod>? AttachMethods { get; init; }
}

/// <summary>
/// The kernel side of Measure-SyscallLatency: loads syslat.bpf.c with the filters, attaches it with the best method
/// the kernel offers, and turns its maps into <see cref="SyscallLatency"/> records per interval. Intervals are cut
/// without losing calls: the programs write one generation of keys while the previous one is drained.
/// </summary>
public sealed class SyscallLatencyMeter : Tools.IBpfMeter<SyscallLatency>
{
    internal const int MaxProcessIds = 16, MaxSyscallIds = 512, CommLength = 16, KeySize = 32;
    private const int HistHeader = 5;   // count, sum, min, max, errors (u64 each), then the slots

    private static readonly Dictionary<BpfAttachMethod, string[]> Programs = new()
    {
        [BpfAttachMethod.TpBtf] = ["kd_sl_btf_enter", "kd_sl_btf_exit"],
        [BpfAttachMethod.RawTp] = ["kd_sl_raw_enter", "kd_sl_raw_exit"],
        [BpfAttachMethod.Tracepoint] = ["kd_sl_tp_enter", "kd_sl_tp_exit"],
    };

    // The engine ranks tp_btf first; this tool reads only scalar arguments (id, ret), so tp_btf's typed access buys
    // nothing, while libbpf parses the kernel's whole BTF (~6 MB) to resolve a tp_btf target: measured here 3-5x the
    // start time of raw_tp. Both run through the same raw tracepoint hook, so the per-call cost is the same.
    private static readonly BpfAttachMethod[] Preference = [BpfAttachMethod.RawTp, BpfAttachMethod.TpBtf, BpfAttachMethod.Tracepoint];

    private readonly BpfSession _session;
    private readonly SyscallLatencyOptions _options;
    private readonly bool _perProcessKeys;
    private readonly bool _statsOn;
    private readonly Timer? _statsSampler;
    private ulong _lastExits;
    private double? _lastOverhead;

    // BPF statistics cost two clock reads per program run for every BPF program on the machine while on, so they
    // are sampled: on for the first StatsWindow of every StatsPeriod. Run time per run is averaged over the windows
    // and scaled to the interval by the exits the program counts itself.
    internal static readonly TimeSpan StatsWindow = TimeSpan.FromMilliseconds(100), StatsPeriod = TimeSpan.FromSeconds(1);
    private readonly SyscallTable _table = SyscallTable.X86_64;
    private uint _generation;
    private ulong _lastRunTimeNs, _lastRunCountExit, _lastDropped;
    private DateTimeOffset _intervalStart;

    private SyscallLatencyMeter(BpfSession session, SyscallLatencyOptions options, BpfAttachMethod method, bool perProcessKeys)
    {
        _session = session;
        _options = options;
        AttachMethod = method;
        _perProcessKeys = perProcessKeys;
        _statsOn = options.ProgramStatistics && session.EnableStatistics();
        (_lastRunTimeNs, _lastRunCountExit) = ReadRunStats();
        if (_statsOn)
        {
            bool on = true;
            _statsSampler = new Timer(_ =>
            {
                try
                {
                    on = !on;
                    if (on) session.EnableStatistics(); else session.DisableStatistics();
                    _statsSampler?.Change(on ? StatsWindow : StatsPeriod - StatsWindow, Timeout.InfiniteTimeSpan);
                }
                catch (ObjectDisposedException) { }
            }, null, StatsWindow, Timeout.InfiniteTimeSpan);
        }
        _intervalStart = DateTimeOffset.Now;
    }

    /// <summary>The attach method in use.</summary>
    public BpfAttachMethod AttachMethod { get; }
    /// <summary>The underlying session (program ids, timings).</summary>
    public BpfSession Session => _session;
    /// <summary>Milliseconds from <see cref="Start"/> being called to the programs being attached.</summary>
    public double StartMilliseconds { get; private set; }

    /// <summary>
    /// Checks the preconditions, then loads and attaches with the first attach method that works (tp_btf, raw_tp,
    /// tracepoint). Errors are terminating KernelDebugExceptions with remedies.
    /// </summary>
    public static SyscallLatencyMeter Start(KernelRoot root, SyscallLatencyOptions options, Action<string>? verbose = null)
    {
        var sw = Stopwatch.StartNew();
        if (options.ProcessIds.Count > MaxProcessIds)
            throw new KernelDebugException("TooManyProcessIds", KernelErrorCategory.InvalidArgument,
                $"At most {MaxProcessIds} process ids can be filtered in the kernel; {options.ProcessIds.Count} were given.",
                "Give fewer -ProcessId values, or use -Name to match processes by command name.", options.ProcessIds.Count);
        if (options.SyscallIds?.FirstOrDefault(id => id is < 0 or >= MaxSyscallIds) is { } bad && options.SyscallIds.Any(id => id is < 0 or >= MaxSyscallIds))
            throw new KernelDebugException("SyscallIdOutOfRange", KernelErrorCategory.InvalidArgument,
                $"System call number {bad} is outside the range the kernel filter covers (0-{MaxSyscallIds - 1}).", null, bad);
        BpfPreconditions.RequireBtf(root);
        BpfPreconditions.RequireCapabilities(root);
        BpfPreconditions.EnsureMemlock(root, verbose);

        var image = BpfSession.ReadEmbeddedObject("syslat");
        bool perProcess = options.ByProcess || options.CommandFilter is not null;
        var methods = options.AttachMethods ?? Preference.Where(BpfPreconditions.AvailableAttachMethods(root).Contains).ToArray();
        KernelDebugException? lastError = null;
        foreach (var method in methods)
        {
            if (method == BpfAttachMethod.Tracepoint) BpfPreconditions.EnsureTracefs(root, verbose);
            var session = BpfSession.Open(image, "kd_syslat", verbose);
            try
            {
                session.SelectPrograms(Programs[method]);
                // tp_btf and raw_tp keep call entries in task storage, tracepoint in a tid hash: create only the one in use.
                session.SkipMap(method == BpfAttachMethod.Tracepoint ? "kd_sl_task" : "kd_sl_start");
                Configure(session, options, perProcess);
                session.Load();
                session.Attach();
                verbose?.Invoke($"syslat attached with {method}: open {session.OpenMilliseconds:F1} ms, load {session.LoadMilliseconds:F1} ms, attach {session.AttachMilliseconds:F1} ms.");
                var meter = new SyscallLatencyMeter(session, options, method, perProcess) { StartMilliseconds = sw.Elapsed.TotalMilliseconds };
                return meter;
            }
            catch (KernelDebugException e) when (e.Category != KernelErrorCategory.PermissionDenied)
            {
                session.Dispose();
                lastError = e;
                verbose?.Invoke($"attach method {method} failed, trying the next one: {e.Message}");
            }
            catch
            {
                session.Dispose();
                throw;
            }
        }
        throw lastError ?? new KernelDebugException("BpfNoAttachMethod", KernelErrorCategory.NotImplemented, "No attach method is available.");
    }

    private static void Configure(BpfSession s, SyscallLatencyOptions o, bool perProcess)
    {
        if (o.ProcessIds.Count > 0)
        {
            var tgids = o.ProcessIds.Select(p => (uint)p).ToArray();
            s.SetGlobal<uint>("targ_tgids", tgids);
            s.SetGlobal("targ_ntgids", (uint)tgids.Length);
        }
        if (o.SyscallIds is not null)
        {
            var bits = new ulong[MaxSyscallIds / 64];
            foreach (var id in o.SyscallIds) bits[id >> 6] |= 1UL << (id & 63);
            s.SetGlobal<ulong>("targ_ids", bits);
            s.SetGlobal("targ_filter_ids", (byte)1);
        }
        if (o.FailedOnly || o.Errno is not null) s.SetGlobal("targ_failed_only", (byte)1);
        if (o.Errno is { } errno) s.SetGlobal("targ_errno", errno);
        if (perProcess) s.SetGlobal("targ_per_process", (byte)1);
    }

    /// <summary>
    /// Ends the current interval and returns its records: flips the generation the programs write, waits for
    /// programs already running to finish, then reads and deletes the old generation. Nothing that arrives in
    /// between is lost: it lands in the new generation.
    /// </summary>
    public IReadOnlyList<SyscallLatency> CollectInterval()
    {
        uint old = _generation;
        _generation ^= 1;
        var key = new byte[4];
        var value = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(value, _generation);
        _session.Map("kd_sl_ctl").Update(key, value);
        Thread.Sleep(2);   // a program that read the old generation finishes within microseconds
        return Drain(old);
    }

    /// <summary>Detaches the programs and returns everything not yet collected (exact: no program runs any more).</summary>
    public IReadOnlyList<SyscallLatency> Finish()
    {
        _session.Detach();
        var a = Drain(_generation);
        var b = Drain(_generation ^ 1);
        return a.Count == 0 ? b : b.Count == 0 ? a : Merge(a.Concat(b));
    }

    private List<SyscallLatency> Drain(uint generation)
    {
        var end = DateTimeOffset.Now;
        var histMap = _session.Map("kd_sl_hist");
        var errMap = _session.Map("kd_sl_errs");
        var hists = histMap.ReadAll().Where(kv => BinaryPrimitives.ReadUInt32LittleEndian(kv.Key) == generation).ToList();
        var errs = errMap.ReadAll().Where(kv => BinaryPrimitives.ReadUInt32LittleEndian(kv.Key) == generation).ToList();
        histMap.Delete(hists.Select(kv => kv.Key).ToList());
        errMap.Delete(errs.Select(kv => kv.Key).ToList());

        var (runTime, runCountExit) = ReadRunStats();
        ulong dRun = runTime - _lastRunTimeNs, dCount = runCountExit - _lastRunCountExit;
        (_lastRunTimeNs, _lastRunCountExit) = (runTime, runCountExit);
        ulong dropped = ReadStat(0 /* SL_STAT_DROPPED_EXITS */), exits = ReadStat(2 /* SL_STAT_EXITS */);
        ulong dDropped = dropped - _lastDropped, dExits = exits - _lastExits;
        (_lastDropped, _lastExits) = (dropped, exits);
        // Per run from the sampled windows of this interval; an interval without a window reuses the last figure.
        if (_statsOn && dCount > 0) _lastOverhead = (double)dRun / dCount;

        // Group key: (syscall, tgid, process command) when grouping by process, else syscall alone.
        var groups = new Dictionary<(int Id, uint Tgid, string Comm), (ulong[] Slots, ulong Count, ulong Sum, ulong Min, ulong Max, ulong Errors, Dictionary<string, ulong> ByErrno)>();
        (int, uint, string)? GroupOf(byte[] k)
        {
            uint tgid = BinaryPrimitives.ReadUInt32LittleEndian(k.AsSpan(4));
            int id = (int)BinaryPrimitives.ReadUInt32LittleEndian(k.AsSpan(8));
            string comm = Encoding.UTF8.GetString(k.AsSpan(16, CommLength)).TrimEnd('\0');
            // The key holds the thread's comm (".NET TP Worker"); -Name means the process's command, as the help says.
            string process = ProcessCommand(tgid) ?? comm;
            if (_options.CommandFilter is { } f && !f(process) && !f(comm)) return null;
            comm = process;
            return _options.ByProcess ? (id, tgid, comm) : (id, 0u, "");
        }
        foreach (var (k, v) in hists)
        {
            if (GroupOf(k) is not { } g) continue;
            if (!groups.TryGetValue(g, out var acc)) acc = (new ulong[Histogram.SlotCount], 0, 0, ulong.MaxValue, 0, 0, new Dictionary<string, ulong>());
            for (int cpu = 0; cpu < histMap.PossibleCpus; cpu++)
            {
                var slot = histMap.CpuSlot(v, cpu);
                ulong count = U64(slot, 0);
                if (count == 0) continue;
                acc.Count += count;
                acc.Sum += U64(slot, 1);
                acc.Min = Math.Min(acc.Min, U64(slot, 2));
                acc.Max = Math.Max(acc.Max, U64(slot, 3));
                acc.Errors += U64(slot, 4);
                for (int s = 0; s < Histogram.SlotCount; s++) acc.Slots[s] += U64(slot, HistHeader + s);
            }
            groups[g] = acc;
        }
        foreach (var (k, v) in errs)
        {
            if (GroupOf(k) is not { } g || !groups.TryGetValue(g, out var acc)) continue;
            ulong n = 0;
            for (int cpu = 0; cpu < errMap.PossibleCpus; cpu++) n += U64(errMap.CpuSlot(v, cpu), 0);
            string name = ErrnoNames.NameOf(BinaryPrimitives.ReadInt32LittleEndian(k.AsSpan(12)));
            acc.ByErrno[name] = acc.ByErrno.GetValueOrDefault(name) + n;
        }

        double? overhead = _statsOn ? _lastOverhead : null;
        TimeSpan? programTime = overhead is { } o ? Tools.BpfToolLoader.FromNanoseconds(o * dExits) : null;
        var start = _intervalStart;
        _intervalStart = end;
        var list = new List<SyscallLatency>(groups.Count);
        foreach (var (g, acc) in groups)
        {
            if (acc.Count == 0) continue;
            var h = new Histogram(acc.Slots, acc.Count, acc.Sum, acc.Min, acc.Max);
            list.Add(Record(g.Id, _options.ByProcess ? (int)g.Tgid : null, _options.ByProcess ? g.Comm : null, h, acc.Errors, acc.ByErrno,
                overhead, programTime, dDropped, start, end));
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
        double? overhead, TimeSpan? programTime, ulong dropped, DateTimeOffset start, DateTimeOffset end) => new()
    {
        Syscall = _table.NameOf(id),
        SyscallId = id,
        ProcessId = pid,
        Command = comm,
        Count = h.Count,
        Errors = errors,
        ErrorsByErrno = byErrno,
        Total = Tools.BpfToolLoader.FromNanoseconds(h.Sum),
        Min = Tools.BpfToolLoader.FromNanoseconds(h.Min),
        Mean = Tools.BpfToolLoader.FromNanoseconds(h.Mean),
        P50 = Tools.BpfToolLoader.FromNanoseconds(h.P50),
        P90 = Tools.BpfToolLoader.FromNanoseconds(h.P90),
        P99 = Tools.BpfToolLoader.FromNanoseconds(h.P99),
        Max = Tools.BpfToolLoader.FromNanoseconds(h.Max),
        Histogram = h,
        AttachMethod = AttachMethod,
        OverheadPerEvent = overhead,
        ProgramRunTime = programTime,
        DroppedExits = dropped,
        StartTime = start,
        EndTime = end,
    };

    // Finish drains both generations; records of the same group are merged.
    private List<SyscallLatency> Merge(IEnumerable<SyscallLatency> records)
    {
        var merged = new List<SyscallLatency>();
        foreach (var g in records.GroupBy(r => (r.SyscallId, r.ProcessId, r.Command)))
        {
            var first = g.First();
            var h = g.Select(r => r.Histogram).Aggregate((a, b) => a.Merge(b));
            var byErrno = g.SelectMany(r => r.ErrorsByErrno).GroupBy(kv => kv.Key).ToDictionary(x => x.Key, x => x.Aggregate(0UL, (s, kv) => s + kv.Value));
            merged.Add(Record(first.SyscallId, first.ProcessId, first.Command, h, g.Aggregate(0UL, (s, r) => s + r.Errors), byErrno,
                first.OverheadPerEvent, first.ProgramRunTime, first.DroppedExits, g.Min(r => r.StartTime), g.Max(r => r.EndTime)));
        }
        merged.Sort((a, b) => b.Total.CompareTo(a.Total));
        return merged;
    }

    private static ulong U64(ReadOnlySpan<byte> s, int index) => BinaryPrimitives.ReadUInt64LittleEndian(s.Slice(index * 8, 8));

    private (ulong RunTimeNs, ulong RunCountExit) ReadRunStats()
    {
        if (!_statsOn) return (0, 0);
        ulong time = 0, exits = 0;
        foreach (var (name, info) in _session.LoadedPrograms())
        {
            time += info.RunTimeNanoseconds;
            if (name.EndsWith("_exit", StringComparison.Ordinal)) exits += info.RunCount;
        }
        return (time, exits);
    }

    private ulong ReadStat(uint index)
    {
        var map = _session.Map("kd_sl_stats");
        var value = new byte[map.ReadValueSize];
        var key = BitConverter.GetBytes(index);
        if (!map.TryLookup(key, value)) return 0;
        ulong n = 0;
        for (int cpu = 0; cpu < map.PossibleCpus; cpu++) n += U64(map.CpuSlot(value, cpu), 0);
        return n;
    }

    /// <summary>Detaches and closes everything.</summary>
    public void Dispose()
    {
        _statsSampler?.Dispose();
        _session.Dispose();
    }
}
