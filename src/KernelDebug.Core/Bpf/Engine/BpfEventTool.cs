using KernelDebug.Core.Bpf.Tools;

namespace KernelDebug.Core.Bpf.Engine;

/// <summary>A started event tool: records stream out of its ring buffer as they arrive, and lost events are counted.</summary>
public interface IBpfEventStream<out T> : IBpfMeter<T>
{
    /// <summary>Waits up to <paramref name="timeout"/> for events and returns the records of all that arrived.</summary>
    IReadOnlyList<T> Poll(TimeSpan timeout);
    /// <summary>Events received from the ring buffer so far (records filtered out in user space included).</summary>
    ulong ReceivedEvents { get; }
    /// <summary>Events the programs could not write because the ring buffer was full (final after Finish).</summary>
    ulong LostEvents { get; }
}

/// <summary>
/// The generic BPF event tool every Trace-* streaming tool is: <see cref="BpfTool{TRecord}"/>'s preconditions, attach
/// choice, filter and cleanup, plus the ring buffer <c>&lt;prefix&gt;_events</c> and lost counter <c>&lt;prefix&gt;_lost</c> of
/// kd_event.bpf.h, consumed before the programs attach and drained after they detach, so no event is dropped in user
/// space and every one the kernel could not write is counted. A tool names its object, map prefix, tracepoint and
/// program, and supplies its configuration and how one event's bytes become a record.
/// </summary>
public abstract class BpfEventTool<TRecord> : BpfTool<TRecord>, IBpfEventStream<TRecord> where TRecord : class
{
    private readonly List<TRecord> _pending = new();
    private BpfRingBuffer? _ring;
    private ulong _lost, _received;
    private readonly DateTimeOffset _wallAtStart = DateTimeOffset.Now;
    private readonly ulong _monoAtStart = MonotonicNow;

    private readonly string _objectName, _prefix, _tracepoint, _program;

    /// <summary>
    /// A tool on <paramref name="root"/> with the shared options: object <paramref name="objectName"/>.bpf.c, whose
    /// maps are KD_EVENT_MAPS(<paramref name="mapPrefix"/>) and whose two programs &lt;prefix&gt;_raw_&lt;program&gt; and
    /// &lt;prefix&gt;_btf_&lt;program&gt; attach to <paramref name="tracepoint"/> ("system:name").
    /// </summary>
    protected BpfEventTool(KernelRoot root, BpfToolOptions common, string objectName, string mapPrefix, string tracepoint, string program) : base(root, common)
    {
        _objectName = objectName;
        _prefix = mapPrefix;
        _tracepoint = tracepoint;
        _program = program;
    }

    /// <inheritdoc />
    protected sealed override string ObjectName => _objectName;
    /// <summary>The prefix of the kd_event.bpf.h maps (KD_EVENT_MAPS(prefix)) and of the programs.</summary>
    protected string MapPrefix => _prefix;
    /// <inheritdoc />
    protected sealed override IReadOnlyList<string> Tracepoints => [_tracepoint];
    /// <inheritdoc />
    protected sealed override IReadOnlyCollection<string> ProgramsFor(BpfAttachMethod method) =>
        [$"{_prefix}_{(method == BpfAttachMethod.TpBtf ? "btf" : "raw")}_{_program}"];

    /// <summary>One event's bytes (valid only during the call) as a record, or null to drop it (a user-space filter).</summary>
    protected abstract TRecord? DecodeEvent(ReadOnlySpan<byte> sample);

    /// <summary>A CLOCK_MONOTONIC time of the kernel (bpf_ktime_get_ns, task start times) as wall-clock time.</summary>
    protected DateTimeOffset WallTime(ulong monotonicNs)
    {
        return _wallAtStart + BpfToolLoader.FromNanoseconds((double)monotonicNs - _monoAtStart);
    }

    /// <summary>The CLOCK_MONOTONIC time now, in nanoseconds.</summary>
    protected static unsafe ulong MonotonicNow
    {
        get
        {
            // CLOCK_MONOTONIC itself: what bpf_ktime_get_ns reads (Stopwatch need not be the same clock).
            Native.Libc.TimeSpec ts;
            Native.Libc.clock_gettime(Native.Libc.ClockMonotonic, &ts);
            return (ulong)ts.Seconds * 1_000_000_000UL + (ulong)ts.Nanoseconds;
        }
    }

    /// <inheritdoc />
    public ulong ReceivedEvents => _ring?.Received ?? _received;
    /// <inheritdoc />
    public ulong LostEvents => _ring is { } r ? Math.Max(_lost, r.Lost) : _lost;

    /// <summary>Opens the ring-buffer consumer, then attaches, so the first event is already read.</summary>
    protected sealed override void Attach(BpfSession session)
    {
        _ring = new BpfRingBuffer(session.Map(MapPrefix + "_events"), OnSample, session.Map(MapPrefix + "_lost"));
        session.Attach();
    }

    private void OnSample(ReadOnlySpan<byte> sample)
    {
        if (DecodeEvent(sample) is { } r) _pending.Add(r);
    }

    /// <inheritdoc />
    public IReadOnlyList<TRecord> Poll(TimeSpan timeout)
    {
        _ring!.Poll(timeout);
        return TakePending();
    }

    /// <summary>Everything in the ring now; on the final interval (programs detached) also the final lost count.</summary>
    protected sealed override IReadOnlyList<TRecord> Decode(BpfInterval interval)
    {
        while (_ring!.Poll(TimeSpan.Zero) > 0) { }
        if (interval.Final)
        {
            _lost = _ring.Lost;
            _received = _ring.Received;
        }
        return TakePending();
    }

    private List<TRecord> TakePending()
    {
        if (_pending.Count == 0) return [];
        var list = _pending.ToList();
        _pending.Clear();
        return list;
    }

    /// <inheritdoc />
    protected override void Release()
    {
        if (_ring is null) return;
        _lost = Math.Max(_lost, SafeLost(_ring));
        _received = _ring.Received;
        _ring.Dispose();
        _ring = null;
    }

    private static ulong SafeLost(BpfRingBuffer ring)
    {
        try { return ring.Lost; }
        catch (Exception e) when (e is ObjectDisposedException or Native.ErrnoException) { return 0; }
    }
}
