using System.Buffers.Binary;
using KernelDebug.Core.Errors;

namespace KernelDebug.Core.Bpf.Tools;

/// <summary>
/// What every BPF measuring tool shares: the preconditions, loading one embedded object with the first attach method
/// that works (the programs of the others get autoload off), the generation flip that cuts intervals without losing
/// events, and summing per-CPU log-linear histograms (kd_hist.bpf.h) into <see cref="Histogram"/>s.
/// </summary>
public static class BpfToolLoader
{
    /// <summary>u64 fields of struct kd_hist before the slots: count, sum, min, max, errors.</summary>
    public const int HistHeader = 5;

    /// <summary>
    /// Checks BTF, capabilities and memlock, then opens <paramref name="objectName"/> and loads and attaches the
    /// programs of the first method in <paramref name="preference"/> the kernel offers. <paramref name="configure"/>
    /// runs between open and load (globals, map skips); <paramref name="attach"/> replaces attaching by section (perf
    /// events). The session is disposed on every failure.
    /// </summary>
    public static (BpfSession Session, BpfAttachMethod Method) Start(KernelRoot root, string objectName,
        IReadOnlyList<BpfAttachMethod> preference, Func<BpfAttachMethod, IReadOnlyCollection<string>> programs,
        Action<BpfSession, BpfAttachMethod> configure, Action<string>? verbose, Action<BpfSession>? attach = null)
    {
        BpfPreconditions.RequireBtf(root);
        BpfPreconditions.RequireCapabilities(root);
        BpfPreconditions.EnsureMemlock(root, verbose);
        var image = BpfSession.ReadEmbeddedObject(objectName);
        var offered = BpfPreconditions.AvailableAttachMethods(root);
        KernelDebugException? lastError = null;
        foreach (var method in preference.Where(m => m == BpfAttachMethod.PerfEvent || offered.Contains(m)))
        {
            if (method == BpfAttachMethod.Tracepoint) BpfPreconditions.EnsureTracefs(root, verbose);
            var session = BpfSession.Open(image, "kd_" + objectName, verbose);
            try
            {
                session.SelectPrograms(programs(method));
                configure(session, method);
                session.Load();
                if (attach is null) session.Attach(); else attach(session);
                verbose?.Invoke($"{objectName} attached with {method}: open {session.OpenMilliseconds:F1} ms, load {session.LoadMilliseconds:F1} ms, attach {session.AttachMilliseconds:F1} ms.");
                return (session, method);
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
        throw lastError ?? new KernelDebugException("BpfNoAttachMethod", KernelErrorCategory.NotImplemented,
            $"None of the attach methods {string.Join(", ", preference)} is available on this kernel.");
    }

    /// <summary>
    /// Flips the generation word (index 0 of the array map <paramref name="ctlMap"/>) the programs stamp into their
    /// keys, and waits for programs that read the old one to finish. Returns the old generation, now safe to drain.
    /// </summary>
    public static uint FlipGeneration(BpfSession session, string ctlMap, ref uint generation)
    {
        uint old = generation;
        generation ^= 1;
        var value = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(value, generation);
        session.Map(ctlMap).Update(new byte[4], value);
        Thread.Sleep(2);   // a program that read the old generation finishes within microseconds
        return old;
    }

    /// <summary>Reads and deletes the entries of a map whose first u32 of the key is <paramref name="generation"/>.</summary>
    public static List<KeyValuePair<byte[], byte[]>> DrainGeneration(BpfMap map, uint generation)
    {
        var entries = map.ReadAll().Where(kv => BinaryPrimitives.ReadUInt32LittleEndian(kv.Key) == generation).ToList();
        map.Delete(entries.Select(kv => kv.Key).ToList());
        return entries;
    }

    /// <summary>Sums a per-CPU struct kd_hist value over the CPUs. Errors = the kd_hist errors field.</summary>
    public static (Histogram Histogram, ulong Errors) SumHistogram(BpfMap map, ReadOnlySpan<byte> value, string unit = "ns")
    {
        var slots = new ulong[Histogram.SlotCount];
        ulong count = 0, sum = 0, min = ulong.MaxValue, max = 0, errors = 0;
        int cpus = map.IsPerCpu ? map.PossibleCpus : 1;
        for (int cpu = 0; cpu < cpus; cpu++)
        {
            var slot = map.IsPerCpu ? map.CpuSlot(value, cpu) : value;
            ulong c = U64(slot, 0);
            if (c == 0) continue;
            count += c;
            sum += U64(slot, 1);
            min = Math.Min(min, U64(slot, 2));
            max = Math.Max(max, U64(slot, 3));
            errors += U64(slot, 4);
            for (int s = 0; s < Histogram.SlotCount; s++) slots[s] += U64(slot, HistHeader + s);
        }
        return (new Histogram(slots, count, sum, count == 0 ? 0 : min, max, unit), errors);
    }

    /// <summary>Sums a per-CPU u64 value over the CPUs (a plain value when the map is not per-CPU).</summary>
    public static ulong SumU64(BpfMap map, ReadOnlySpan<byte> value)
    {
        if (!map.IsPerCpu) return U64(value, 0);
        ulong n = 0;
        for (int cpu = 0; cpu < map.PossibleCpus; cpu++) n += U64(map.CpuSlot(value, cpu), 0);
        return n;
    }

    /// <summary>Reads counter <paramref name="index"/> of a per-CPU array of u64 counters, summed over CPUs.</summary>
    public static ulong ReadCounter(BpfMap map, uint index)
    {
        var key = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(key, index);
        var value = new byte[map.ReadValueSize];
        return map.TryLookup(key, value) ? SumU64(map, value) : 0;
    }

    /// <summary>Total run time and run count of the session's programs whose name passes <paramref name="counted"/>.</summary>
    public static (ulong RunTimeNs, ulong RunCount) RunStats(BpfSession session, Func<string, bool>? counted = null)
    {
        ulong time = 0, runs = 0;
        foreach (var (name, info) in session.LoadedPrograms())
        {
            time += info.RunTimeNanoseconds;
            if (counted is null || counted(name)) runs += info.RunCount;
        }
        return (time, runs);
    }

    /// <summary>Nanoseconds to TimeSpan (100 ns ticks, rounded).</summary>
    public static TimeSpan FromNanoseconds(double ns) => TimeSpan.FromTicks((long)Math.Round(ns / 100.0));

    internal static ulong U64(ReadOnlySpan<byte> s, int index) => BinaryPrimitives.ReadUInt64LittleEndian(s.Slice(index * 8, 8));
}

/// <summary>
/// The one way every BPF tool measures its own cost. Kernel BPF statistics cost two clock reads per program run for
/// every BPF program on the machine while on, so they are sampled: on for the first <see cref="Window"/> of every
/// <see cref="Period"/>. The run time per run is taken over the windows of an interval (an interval without one keeps
/// the last figure), and the run time of the whole interval is scaled from the time statistics were on.
/// </summary>
public sealed class BpfOverheadTracker : IDisposable
{
    /// <summary>Statistics are on for this long ...</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMilliseconds(100);
    /// <summary>... of every period.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(1);

    private readonly object _gate = new();
    private readonly BpfSession _session;
    private readonly Timer? _sampler;
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private ulong _lastTime, _lastRuns;
    private TimeSpan _onTotal, _onSince, _lastOnTotal, _lastElapsed;
    private bool _on;
    private double? _perRun;
    private readonly Func<string, bool>? _counted;

    /// <summary>
    /// Enables statistics on <paramref name="session"/> when <paramref name="wanted"/> and takes the first reading.
    /// <paramref name="counted"/> names the programs whose runs are the events (default: every program's), e.g.
    /// only the exit of an enter/exit pair, so the cost is per traced call.
    /// </summary>
    public BpfOverheadTracker(BpfSession session, bool wanted, Func<string, bool>? counted = null)
    {
        _session = session;
        _counted = counted;
        Enabled = wanted && session.EnableStatistics();
        if (!Enabled) return;
        _on = true;
        (_lastTime, _lastRuns) = BpfToolLoader.RunStats(session, counted);
        _sampler = new Timer(_ => Toggle(), null, Window, Timeout.InfiniteTimeSpan);
    }

    private void Toggle()
    {
        lock (_gate)
        {
            try
            {
                var now = _clock.Elapsed;
                if (_on) { _onTotal += now - _onSince; _session.DisableStatistics(); }
                else { _onSince = now; _session.EnableStatistics(); }
                _on = !_on;
                _sampler?.Change(_on ? Window : Period - Window, Timeout.InfiniteTimeSpan);
            }
            catch (ObjectDisposedException) { }
        }
    }

    /// <summary>True when statistics are on, so overheads are measured.</summary>
    public bool Enabled { get; }

    /// <summary>
    /// Nanoseconds of BPF time per program run over the windows since the last call (or the last figure), and the
    /// programs' estimated run time over the whole interval; nulls when statistics are off or nothing ran yet.
    /// </summary>
    public (double? PerRun, TimeSpan? RunTime) NextInterval()
    {
        if (!Enabled) return (null, null);
        lock (_gate)
        {
            var (time, runs) = BpfToolLoader.RunStats(_session, _counted);
            ulong dTime = time - _lastTime, dRuns = runs - _lastRuns;
            (_lastTime, _lastRuns) = (time, runs);
            var elapsed = _clock.Elapsed;
            var onTotal = _onTotal + (_on ? elapsed - _onSince : TimeSpan.Zero);
            var dOn = onTotal - _lastOnTotal;
            var dElapsed = elapsed - _lastElapsed;
            (_lastOnTotal, _lastElapsed) = (onTotal, elapsed);
            if (dRuns > 0) _perRun = (double)dTime / dRuns;
            TimeSpan? runTime = dOn > TimeSpan.Zero ? BpfToolLoader.FromNanoseconds(dTime * (dElapsed / dOn)) : null;
            return (_perRun, runTime);
        }
    }

    /// <summary>Stops sampling.</summary>
    public void Dispose()
    {
        lock (_gate) _sampler?.Dispose();
    }
}
