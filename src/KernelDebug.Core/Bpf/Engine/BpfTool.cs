using System.Buffers.Binary;
using System.Diagnostics;
using KernelDebug.Core.Bpf.Tools;

namespace KernelDebug.Core.Bpf.Engine;

/// <summary>One interval of a BPF tool: which generations to drain, its times and what the programs cost.</summary>
public sealed class BpfInterval
{
    private readonly Dictionary<(string Map, uint Index), ulong> _counters;

    internal BpfInterval(BpfSession session, uint[] generations, DateTimeOffset start, DateTimeOffset end, double? overhead, TimeSpan? runTime, bool final, ulong missed,
        Dictionary<(string Map, uint Index), ulong> counters)
    {
        _counters = counters;
        MissedEvents = missed;
        Session = session;
        Generations = generations;
        Start = start;
        End = end;
        OverheadPerEvent = overhead;
        ProgramRunTime = runTime;
        Final = final;
    }

    /// <summary>The session (maps).</summary>
    public BpfSession Session { get; }
    /// <summary>Generations whose entries belong to this interval (both on the final one: nothing runs any more).</summary>
    public IReadOnlyList<uint> Generations { get; }
    /// <summary>When the interval began.</summary>
    public DateTimeOffset Start { get; }
    /// <summary>When it ended.</summary>
    public DateTimeOffset End { get; }
    /// <summary>BPF nanoseconds per program run (sampled statistics), null when statistics are off.</summary>
    public double? OverheadPerEvent { get; }
    /// <summary>The programs' run time over the interval, all CPUs (estimated from the sampled statistics).</summary>
    public TimeSpan? ProgramRunTime { get; }
    /// <summary>True for the last interval, after the programs were detached.</summary>
    public bool Final { get; }
    /// <summary>
    /// Runs of the tool's programs the kernel skipped in the interval (bpf_prog_info.recursion_misses: the program was
    /// already running on that CPU, as when an interrupt comes during it); the events they would have counted are missing.
    /// </summary>
    public ulong MissedEvents { get; }
    /// <summary>Length of the interval in seconds (at least a microsecond).</summary>
    public double Seconds => Math.Max(1e-6, (End - Start).TotalSeconds);

    /// <summary>Reads and deletes the entries of a generation-keyed map (first u32 of the key) of this interval.</summary>
    public List<KeyValuePair<byte[], byte[]>> Drain(string map)
    {
        var m = Session.Map(map);
        var entries = m.ReadAll().Where(kv => Generations.Contains(BinaryPrimitives.ReadUInt32LittleEndian(kv.Key))).ToList();
        m.Delete(entries.Select(kv => kv.Key).ToList());
        return entries;
    }

    /// <summary>The drained entries of a per-CPU struct kd_hist map, summed over CPUs, keyed by the decoded key.</summary>
    public Dictionary<TKey, Histogram> DrainHistograms<TKey>(string map, Func<byte[], TKey> key) where TKey : notnull
    {
        var m = Session.Map(map);
        var result = new Dictionary<TKey, Histogram>();
        foreach (var (k, v) in Drain(map))
        {
            var g = key(k);
            var (h, _) = BpfToolLoader.SumHistogram(m, v);
            result[g] = result.TryGetValue(g, out var acc) ? acc.Merge(h) : h;
        }
        return result;
    }

    /// <summary>Counter <paramref name="index"/> of a per-CPU u64 array, summed over CPUs (cumulative since start).</summary>
    public ulong Counter(string map, uint index) => BpfToolLoader.ReadCounter(Session.Map(map), index);

    /// <summary>How much <see cref="Counter"/> grew in this interval: since the previous interval read it, or since start.</summary>
    public ulong CounterDelta(string map, uint index)
    {
        ulong now = Counter(map, index);
        ulong before = _counters.GetValueOrDefault((map, index));
        _counters[(map, index)] = now;
        return now - before;
    }
}

/// <summary>
/// The generic BPF measurement every aggregating tool is: it checks the preconditions, loads the tool's object with
/// the first attach method of its preference the kernel offers (falling back to the next on failure, and recording
/// the method of every program), applies the task filter and the tool's configuration, cuts intervals by the
/// generation switch without losing events, measures the programs' cost (one way for all tools), and cleans up.
/// A tool supplies only its object, its programs per method, its configuration and how its maps become records.
/// </summary>
public abstract class BpfTool<TRecord> : IBpfMeter<TRecord>
{
    private readonly BpfToolOptions _common;
    private BpfSession? _session;
    private BpfOverheadTracker? _overhead;
    private CgroupNamer? _namer;
    private uint _generation;
    private DateTimeOffset _intervalStart;
    private Dictionary<string, BpfAttachMethod> _programMethods = new();
    private ulong _missed;
    private readonly Dictionary<(string Map, uint Index), ulong> _counters = new();

    /// <summary>A tool on <paramref name="root"/> with the shared options.</summary>
    protected BpfTool(KernelRoot root, BpfToolOptions common)
    {
        Root = root;
        _common = common;
    }

    /// <summary>The machine.</summary>
    protected KernelRoot Root { get; }
    /// <summary>The cgroup of the filter, when there is one.</summary>
    protected CgroupTarget? Cgroup { get; private set; }
    /// <summary>Names the cgroup ids of the filter's hierarchy (v2 without a filter).</summary>
    protected CgroupNamer CgroupNames => _namer ??= new CgroupNamer(Root, Cgroup);

    /// <summary>The embedded object (Bpf/Programs/&lt;name&gt;.bpf.c).</summary>
    protected abstract string ObjectName { get; }
    /// <summary>Attach methods best first. raw_tp leads: it needs no kernel BTF parse to attach (tp_btf costs 3-5x the start time).</summary>
    protected virtual IReadOnlyList<BpfAttachMethod> Preference => [BpfAttachMethod.RawTp, BpfAttachMethod.TpBtf];
    /// <summary>The programs to load for a method.</summary>
    protected abstract IReadOnlyCollection<string> ProgramsFor(BpfAttachMethod method);
    /// <summary>Sets the tool's globals and map sizes between open and load.</summary>
    protected virtual void Configure(BpfSession session, BpfAttachMethod method) { }
    /// <summary>Attaches the loaded programs (default: each by its section; perf-event tools open their events here).</summary>
    protected virtual void Attach(BpfSession session) => session.Attach();
    /// <summary>Checks the tool's own options and preconditions before anything loads.</summary>
    protected virtual void Validate() { }
    /// <summary>The generation switch map (kd_gen.bpf.h), or null for a tool whose reports do not consume (memleak).</summary>
    protected virtual string? GenerationMap => null;
    /// <summary>The programs whose runs are the tool's events, for the cost per event (null: every program's runs).</summary>
    protected virtual Func<string, bool>? CountedRuns => null;
    /// <summary>Turns the maps of one interval into records.</summary>
    protected abstract IReadOnlyList<TRecord> Decode(BpfInterval interval);
    /// <summary>The tracepoints the programs attach to, as "system:name", checked before loading so a missing one is named.</summary>
    protected virtual IReadOnlyList<string> Tracepoints => [];
    /// <summary>Releases what the tool holds besides the session (a ring-buffer consumer), before the session closes.</summary>
    protected virtual void Release() { }

    /// <inheritdoc />
    public BpfAttachMethod AttachMethod { get; private set; }
    /// <summary>How each loaded program was attached.</summary>
    public IReadOnlyDictionary<string, BpfAttachMethod> ProgramAttachMethods => _programMethods;
    /// <inheritdoc />
    public BpfSession Session => _session ?? throw new InvalidOperationException("the tool is not started");
    /// <summary>Milliseconds from Start being called to the programs being attached.</summary>
    public double StartMilliseconds { get; private set; }

    /// <summary>Validates, loads and attaches <paramref name="tool"/>; it is disposed if that fails.</summary>
    protected static T Launch<T>(T tool, Action<string>? verbose) where T : BpfTool<TRecord>
    {
        try
        {
            tool.StartCore(verbose);
            return tool;
        }
        catch
        {
            tool.Dispose();
            throw;
        }
    }

    private void StartCore(Action<string>? verbose)
    {
        var sw = Stopwatch.StartNew();
        Validate();
        BpfPreconditions.RequireTracepoints(Root, Tracepoints);
        Cgroup = _common.Filter.Validate(Root);
        var (session, method) = BpfToolLoader.Start(Root, ObjectName, _common.AttachMethods ?? Preference, ProgramsFor,
            (s, m) =>
            {
                _common.Filter.Apply(s, Cgroup);
                Configure(s, m);
            }, verbose, Attach);
        _session = session;
        AttachMethod = method;
        _programMethods = ProgramsFor(method).ToDictionary(p => p, _ => method);
        _overhead = new BpfOverheadTracker(session, _common.ProgramStatistics, CountedRuns);
        _intervalStart = DateTimeOffset.Now;
        StartMilliseconds = sw.Elapsed.TotalMilliseconds;
    }

    /// <summary>Ends the current interval and returns its records; events arriving meanwhile count in the next one.</summary>
    public IReadOnlyList<TRecord> CollectInterval()
    {
        uint[] gens = GenerationMap is { } ctl ? [BpfToolLoader.FlipGeneration(Session, ctl, ref _generation)] : [];
        return Decode(NextInterval(gens, final: false));
    }

    /// <summary>Detaches the programs and returns everything not yet collected (exact: no program runs any more).</summary>
    public IReadOnlyList<TRecord> Finish()
    {
        Session.Detach();
        return Decode(NextInterval([_generation, _generation ^ 1], final: true));
    }

    private BpfInterval NextInterval(uint[] generations, bool final)
    {
        var end = DateTimeOffset.Now;
        var (perRun, runTime) = _overhead!.NextInterval();
        ulong missed = Session.LoadedPrograms().Aggregate(0UL, (sum, p) => sum + p.Info.RecursionMisses);
        var interval = new BpfInterval(Session, generations, _intervalStart, end, perRun, runTime, final, missed - _missed, _counters);
        _missed = missed;
        _intervalStart = end;
        return interval;
    }

    /// <summary>Detaches and closes everything; returns once the kernel has dropped the programs.</summary>
    public void Dispose()
    {
        _overhead?.Dispose();
        Release();
        _session?.Dispose();
        GC.SuppressFinalize(this);
    }
}
