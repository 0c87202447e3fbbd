using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Tracing;

/// <summary>
/// One event decoded from an ftrace ring buffer (a live instance's <c>trace_pipe_raw</c> or a trace-cmd file):
/// when, where, who, which event, the context flags, and the event's fields as typed values in format order.
/// </summary>
public sealed class FtraceEvent
{
    /// <summary>Time on the trace clock (<see cref="Clock"/>) since its origin.</summary>
    public TimeSpan Timestamp => TimeSpan.FromTicks((long)(TimestampNanoseconds / 100));

    /// <summary>The raw trace-clock value in nanoseconds (full precision).</summary>
    public ulong TimestampNanoseconds { get; init; }

    private DateTimeOffset? _time;
    private OrderedDictionary<string, object?>? _fields;
    private string? _name;

    /// <summary>The wall-clock time of the event, when the trace clock could be mapped to it (live captures on the mono clock).</summary>
    public DateTimeOffset? Time { get => _time ?? ClockMapping?.ToTime(TimestampNanoseconds); init => _time = value; }

    /// <summary>Maps <see cref="TimestampNanoseconds"/> to <see cref="Time"/> when it is read (decoders set it instead of Time).</summary>
    internal TraceClockMapping? ClockMapping { get; init; }

    /// <summary>Where a decoded event's own fields lie, so <see cref="Fields"/> is built only when read.</summary>
    internal readonly record struct RawFields(byte[] Data, int Offset, TraceEventFormat Format, int LongSize, Func<ulong, string?>? Symbolize);

    /// <summary>The record bytes behind <see cref="Fields"/> (decoded events); null when Fields was given.</summary>
    internal RawFields? Raw { get; init; }

    /// <summary>The trace clock the timestamp is on (<c>mono</c>, <c>local</c>, ...).</summary>
    public string? Clock { get; init; }

    /// <summary>CPU whose buffer held the event.</summary>
    public int Cpu { get; init; }

    /// <summary>Thread id (the kernel's pid) that was running (<c>common_pid</c>).</summary>
    public int ProcessId { get; init; }

    /// <summary>Command name of <see cref="ProcessId"/> from saved_cmdlines, when known.</summary>
    public string? Command { get; init; }

    /// <summary>Event subsystem (<c>raw_syscalls</c>).</summary>
    public string System { get; init; } = "";

    /// <summary>Event name (<c>sys_enter</c>).</summary>
    public string Event { get; init; } = "";

    /// <summary><c>system:event</c>.</summary>
    public string Name => _name ??= System + ":" + Event;

    /// <summary>The raw <c>common_flags</c> byte.</summary>
    public byte RawFlags { get; init; }

    /// <summary>Interrupts were disabled.</summary>
    public bool IrqsOff => (RawFlags & 0x01) != 0;
    /// <summary>A reschedule was pending (TIF_NEED_RESCHED).</summary>
    public bool NeedResched => (RawFlags & 0x04) != 0;
    /// <summary>In hard-interrupt context.</summary>
    public bool HardIrq => (RawFlags & 0x08) != 0;
    /// <summary>In soft-interrupt context.</summary>
    public bool SoftIrq => (RawFlags & 0x10) != 0;
    /// <summary>A preemption reschedule was pending.</summary>
    public bool PreemptResched => (RawFlags & 0x20) != 0;
    /// <summary>In NMI context.</summary>
    public bool Nmi => (RawFlags & 0x40) != 0;

    /// <summary>Preemption depth (low nibble of <c>common_preempt_count</c>).</summary>
    public int PreemptDepth { get; init; }

    /// <summary>Migrate-disable depth (high nibble of <c>common_preempt_count</c>).</summary>
    public int MigrateDisable { get; init; }

    /// <summary>The latency flags as ftrace prints them: irqs-off, need-resched, hard/soft irq, preempt depth (<c>d.h1</c>).</summary>
    public string LatencyFormat
    {
        get
        {
            char irq = IrqsOff ? 'd' : '.';
            char nr = (NeedResched, PreemptResched) switch { (true, true) => 'N', (true, false) => 'n', (false, true) => 'p', _ => '.' };
            char ctx = (Nmi, HardIrq, SoftIrq) switch
            {
                (true, true, _) => 'Z', (true, false, _) => 'z', (false, true, true) => 'H',
                (false, true, false) => 'h', (false, false, true) => 's', _ => '.',
            };
            char depth = PreemptDepth == 0 ? '.' : PreemptDepth < 16 ? "0123456789abcdef"[PreemptDepth] : '+';
            return new string([irq, nr, ctx, depth]);
        }
    }

    /// <summary>The event's own fields (not the <c>common_</c> ones), in format order, typed by the format:
    /// integers signed/unsigned by size, pointers as <see cref="ulong"/>, strings, arrays.</summary>
    public OrderedDictionary<string, object?> Fields
    {
        get
        {
            if (_fields is not null) return _fields;
            var built = Raw is { } r
                ? RingBufferDecoder.DecodeFields(new ReadOnlySpan<byte>(r.Data, r.Offset, Length), r.Format, r.LongSize, r.Symbolize)
                : new FtraceFields();
            return Interlocked.CompareExchange(ref _fields, built, null) ?? built;
        }
        init => _fields = value is null or FtraceFields ? value : new FtraceFields(value);
    }

    /// <summary><see cref="Fields"/> as one line of <c>name=value</c> pairs (arrays as <c>{a,b}</c>), for CSV and text.</summary>
    public string FieldsText => FormatFields(Fields);

    internal static string FormatFields(IEnumerable<KeyValuePair<string, object?>> fields) => string.Join(' ', fields.Select(kv => $"{kv.Key}={FormatValue(kv.Value)}"));

    /// <summary>The record's raw bytes length (header fields included).</summary>
    public int Length { get; init; }

    /// <summary>"12.345678 [1] bash-123 raw_syscalls:sys_enter id=0 ...".</summary>
    public override string ToString() =>
        $"{(TimestampNanoseconds + 500) / 1000 / 1_000_000}.{(TimestampNanoseconds + 500) / 1000 % 1_000_000:D6} [{Cpu}] {Command ?? "<...>"}-{ProcessId} {Name} " + FieldsText;

    private static string FormatValue(object? v) => v switch
    {
        null => "",
        string s => s,
        System.Collections.IEnumerable e => "{" + string.Join(',', e.Cast<object?>()) + "}",
        _ => v.ToString() ?? "",
    };
}

/// <summary>Maps a trace-clock value to wall-clock time.</summary>
public sealed class TraceClockMapping
{
    private readonly long _offsetNs;

    private TraceClockMapping(string clock, long offsetNs) { Clock = clock; _offsetNs = offsetNs; }

    /// <summary>The clock name.</summary>
    public string Clock { get; }

    /// <summary>
    /// A mapping for a live capture: <c>mono</c> is CLOCK_MONOTONIC, which .NET's Stopwatch reads on Linux, so the
    /// offset to wall-clock time is measured once here. Other clocks get no wall-clock mapping (null).
    /// </summary>
    public static TraceClockMapping? ForLive(string clock)
    {
        if (clock != "mono" || System.Diagnostics.Stopwatch.Frequency != 1_000_000_000) return null;
        long mono = System.Diagnostics.Stopwatch.GetTimestamp();
        long wall = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;
        return new TraceClockMapping(clock, wall - mono);
    }

    /// <summary>The wall-clock time of a trace-clock value, or null when a corrupt timestamp lands outside the calendar.</summary>
    public DateTimeOffset? ToTime(ulong ns) =>
        Fields.TryNanoseconds(ns, out var since) && Fields.TryAdd(DateTimeOffset.UnixEpoch, since, out var t)
        && Fields.TryAdd(t, TimeSpan.FromTicks(_offsetNs / 100), out var time) ? time : null;
}

/// <summary>An event's fields, printing as <c>name=value</c> pairs (Export-Csv, string conversion) instead of a type name.</summary>
public sealed class FtraceFields : OrderedDictionary<string, object?>
{
    /// <summary>An empty set of fields.</summary>
    public FtraceFields() { }
    /// <summary>An empty set with room for <paramref name="capacity"/> fields.</summary>
    public FtraceFields(int capacity) : base(capacity) { }
    /// <summary>A copy of <paramref name="fields"/>.</summary>
    public FtraceFields(IEnumerable<KeyValuePair<string, object?>> fields) : base(fields) { }
    /// <summary>The fields as <see cref="FtraceEvent.FieldsText"/> prints them.</summary>
    public override string ToString() => FtraceEvent.FormatFields(this);
}
