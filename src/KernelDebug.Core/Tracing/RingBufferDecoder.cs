using System.Buffers.Binary;
using System.Text;
using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Tracing;

/// <summary>What one ring-buffer page held, besides its events.</summary>
/// <param name="Timestamp">The page's base timestamp.</param>
/// <param name="DataLength">Bytes of event data the commit word announced.</param>
/// <param name="MissedEvents">The kernel flagged events lost before this page (overwritten or dropped).</param>
/// <param name="MissedCount">How many, when the kernel stored the count on the page; null when it only set the flag.</param>
/// <param name="Events">Data records decoded.</param>
/// <param name="Corrupt">The page ended in a record that did not fit or was not understood.</param>
public readonly record struct RingBufferPage(ulong Timestamp, int DataLength, bool MissedEvents, long? MissedCount, int Events, bool Corrupt);

/// <summary>One data record found on a page, not yet an object: its timestamp, where its payload lies and its format.</summary>
/// <param name="Timestamp">Trace-clock nanoseconds.</param>
/// <param name="Data">The buffer holding the page.</param>
/// <param name="Offset">Where the payload (from <c>common_type</c>) starts in <paramref name="Data"/>.</param>
/// <param name="Length">Payload bytes.</param>
/// <param name="Format">The event's format.</param>
public readonly record struct RawRecord(ulong Timestamp, byte[] Data, int Offset, int Length, TraceEventFormat Format);

/// <summary>
/// Decodes binary ring-buffer pages (what <c>per_cpu/cpuN/trace_pipe_raw</c> returns, and what a trace-cmd file
/// stores per CPU) into <see cref="FtraceEvent"/>s, using the layout from header_page/header_event and the events'
/// format files. Handles the compressed event header (type_len/time_delta), padding and discarded records, time
/// extends, absolute timestamps and the missed-events flags of the commit word. Never throws on bad bytes: a page
/// that does not decode is reported through the <see cref="ParseContext"/> and the decoder moves to the next page.
/// </summary>
public sealed class RingBufferDecoder
{
    private const ulong MissedEventsFlag = 1UL << 31, MissedStoredFlag = 1UL << 30;
    private const ulong TsMsbMask = 0xF8UL << 56;

    private readonly RingBufferLayout _layout;
    private readonly Func<int, TraceEventFormat?> _formatById;
    private readonly Func<int, string?>? _commandOf;
    private readonly ParseContext _ctx;
    private readonly HashSet<int> _unknownIds; // shared with forks (locked): an unknown id is warned about once
    private readonly Dictionary<int, string> _commCache = new();
    private readonly Dictionary<int, TraceEventFormat?> _formats = new();
    private readonly List<RawRecord> _scratch = new();
    private int _lastId = -1;
    private TraceEventFormat? _lastFormat;

    /// <summary>Creates a decoder.</summary>
    /// <param name="layout">Page and event-header layout.</param>
    /// <param name="formatById">The format of an event id (<c>common_type</c>), or null when unknown.</param>
    /// <param name="commandOf">The command name of a pid (saved_cmdlines), or null.</param>
    /// <param name="ctx">Where undecodable pages and unknown event ids are reported.</param>
    public RingBufferDecoder(RingBufferLayout layout, Func<int, TraceEventFormat?> formatById, Func<int, string?>? commandOf, ParseContext ctx)
    {
        _layout = layout;
        _formatById = formatById;
        _commandOf = commandOf;
        _ctx = ctx;
        _unknownIds = new();
    }

    private RingBufferDecoder(RingBufferDecoder parent, Func<int, string?>? commandOf, ParseContext ctx)
    {
        _layout = parent._layout;
        _formatById = parent._formatById;
        _commandOf = commandOf;
        _ctx = ctx;
        _unknownIds = parent._unknownIds;
        CopySettingsFrom(parent);
    }

    /// <summary>
    /// A decoder for another thread (one per CPU when CPUs decode in parallel): same layout, formats and settings,
    /// its own caches; warnings go to <paramref name="ctx"/>, command names through <paramref name="commandOf"/>
    /// (which must be safe to call from that thread).
    /// </summary>
    public RingBufferDecoder Fork(ParseContext ctx, Func<int, string?>? commandOf) => new(this, commandOf, ctx);

    /// <summary>Takes the clock, filter and symbolizer settings of another decoder (a fork's parent).</summary>
    public void CopySettingsFrom(RingBufferDecoder other)
    {
        ClockMapping = other.ClockMapping;
        ClockName = other.ClockName;
        OnlyIds = other.OnlyIds;
        Symbolize = other.Symbolize;
    }

    /// <summary>Wall-clock mapping for <see cref="FtraceEvent.Time"/>, when known.</summary>
    public TraceClockMapping? ClockMapping { get; set; }

    /// <summary>The trace clock name put on each event.</summary>
    public string? ClockName { get; set; }

    /// <summary>Only events whose id is in this set are returned (others are skipped cheaply); null for all.</summary>
    public ISet<int>? OnlyIds { get; set; }

    /// <summary>Address → symbol (kallsyms) for function-tracer records: adds <c>function</c> and <c>parent</c> names
    /// beside their <c>ip</c> and <c>parent_ip</c> fields. Null leaves the addresses alone.</summary>
    public Func<ulong, string?>? Symbolize { get; set; }

    /// <summary>Forget cached command names (saved_cmdlines changed).</summary>
    public void ForgetCommands() => _commCache.Clear();

    /// <summary>Decodes one page, appending its events to <paramref name="output"/>.</summary>
    /// <param name="page">The page bytes (header included); shorter reads are decoded as far as they go.</param>
    /// <param name="cpu">CPU the page came from.</param>
    /// <param name="output">Receives the events.</param>
    /// <param name="pageIndex">Used in warnings to say which page was bad.</param>
    public RingBufferPage DecodePage(ReadOnlySpan<byte> page, int cpu, List<FtraceEvent> output, long pageIndex = 0)
    {
        var copy = page.ToArray(); // the events keep their bytes (fields are decoded when read)
        return DecodePage(copy, 0, copy.Length, cpu, output, pageIndex);
    }

    /// <summary>Decodes the page at <paramref name="buffer"/>[<paramref name="offset"/>..+<paramref name="count"/>],
    /// appending its events; the events refer to <paramref name="buffer"/> (do not reuse it) and decode their fields
    /// from it when first read.</summary>
    public RingBufferPage DecodePage(byte[] buffer, int offset, int count, int cpu, List<FtraceEvent> output, long pageIndex = 0)
    {
        _scratch.Clear();
        var info = WalkPage(buffer, offset, count, cpu, _scratch, pageIndex);
        foreach (ref readonly var r in System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_scratch)) output.Add(Materialize(r, cpu));
        _scratch.Clear();
        return info;
    }

    /// <summary>
    /// Walks one page's record headers and appends a compact <see cref="RawRecord"/> (timestamp, where the payload
    /// is, its format) per data record of a known, selected event: no allocation per record.
    /// </summary>
    public RingBufferPage WalkPage(byte[] buffer, int offset, int count, int cpu, List<RawRecord> output, long pageIndex = 0)
    {
        var page = new ReadOnlySpan<byte>(buffer, offset, count);
        var l = _layout;
        if (page.Length < l.DataOffset)
        {
            _ctx.Warn(0, $"cpu{cpu} page {pageIndex}: {page.Length} bytes is shorter than the page header ({l.DataOffset})");
            return new RingBufferPage(0, 0, false, null, 0, true);
        }
        ulong ts = BinaryPrimitives.ReadUInt64LittleEndian(page[l.TimestampOffset..]);
        ulong commit = l.CommitSize == 8 ? BinaryPrimitives.ReadUInt64LittleEndian(page[l.CommitOffset..]) : BinaryPrimitives.ReadUInt32LittleEndian(page[l.CommitOffset..]);
        bool missed = (commit & MissedEventsFlag) != 0;
        bool stored = (commit & MissedStoredFlag) != 0;
        ulong length = commit & ~(MissedEventsFlag | MissedStoredFlag) & (l.CommitSize == 8 ? 0xFFFF_FFFFUL : 0xFFFF_FFFFUL);
        var data = page[l.DataOffset..];
        bool corrupt = false;
        if (length > (ulong)data.Length)
        {
            // A read shorter than a page is normal at the end of a file; a commit beyond the page size is not.
            if (length > 1 << 24) { _ctx.Warn(0, $"cpu{cpu} page {pageIndex}: commit {length} is not a plausible data length"); return new RingBufferPage(ts, 0, missed, null, 0, true); }
            _ctx.Warn(0, $"cpu{cpu} page {pageIndex}: commit says {length} bytes but only {data.Length} are present (truncated page)");
            corrupt = true;
            length = (ulong)data.Length;
        }
        long? missedCount = null;
        if (stored && length + (ulong)l.LongSize <= (ulong)data.Length)
            missedCount = l.LongSize == 8 ? (long)BinaryPrimitives.ReadUInt64LittleEndian(data[(int)length..]) : BinaryPrimitives.ReadUInt32LittleEndian(data[(int)length..]);
        data = data[..(int)length];

        int typeLenMask = (1 << l.TypeLenBits) - 1;
        int pos = 0, events = 0;
        while (pos + 4 <= data.Length)
        {
            uint header = BinaryPrimitives.ReadUInt32LittleEndian(data[pos..]);
            int typeLen = (int)(header & (uint)typeLenMask);
            ulong delta = header >> l.TypeLenBits;
            int payloadStart, payloadLength, total;
            if (typeLen == l.PaddingType)
            {
                if (delta == 0) break; // the rest of the page is unused
                if (pos + 8 > data.Length) { corrupt = Bad(cpu, pageIndex, pos, "padding record cut off"); break; }
                uint padLen = BinaryPrimitives.ReadUInt32LittleEndian(data[(pos + 4)..]);
                if (padLen > (uint)data.Length) { corrupt = Bad(cpu, pageIndex, pos, $"padding length {padLen} beyond the page"); break; }
                pos += 4 + (int)padLen; // a discarded event: its delta is not applied (as the kernel's reader does)
                continue;
            }
            if (typeLen == l.TimeExtendType || typeLen == l.TimeStampType)
            {
                if (pos + 8 > data.Length) { corrupt = Bad(cpu, pageIndex, pos, "time record cut off"); break; }
                ulong hi = BinaryPrimitives.ReadUInt32LittleEndian(data[(pos + 4)..]);
                ulong value = (hi << l.TimeDeltaBits) + delta;
                ts = typeLen == l.TimeExtendType ? ts + value : value | (ts & TsMsbMask);
                pos += 8;
                continue;
            }
            if (typeLen == 0)
            {
                if (pos + 8 > data.Length) { corrupt = Bad(cpu, pageIndex, pos, "long record cut off"); break; }
                uint len = BinaryPrimitives.ReadUInt32LittleEndian(data[(pos + 4)..]);
                if (len < 4 || len > (uint)data.Length) { corrupt = Bad(cpu, pageIndex, pos, $"record length {len} not plausible"); break; }
                payloadStart = pos + 8;
                payloadLength = (int)len - 4;
                total = 4 + (int)((len + 3) & ~3u);
            }
            else if (typeLen <= l.MaxDataType)
            {
                payloadStart = pos + 4;
                payloadLength = typeLen * 4;
                total = 4 + payloadLength;
            }
            else { corrupt = Bad(cpu, pageIndex, pos, $"type_len {typeLen} unknown"); break; }
            if (pos + total > data.Length || payloadStart + payloadLength > data.Length)
            {
                corrupt = Bad(cpu, pageIndex, pos, "record runs past the end of the page");
                break;
            }
            ts += delta;
            if (payloadLength >= 8 && Resolve(BinaryPrimitives.ReadUInt16LittleEndian(data[payloadStart..])) is { } fmt)
            {
                output.Add(new RawRecord(ts, buffer, offset + l.DataOffset + payloadStart, payloadLength, fmt));
                events++;
            }
            pos += total;
        }
        return new RingBufferPage(ts, (int)length, missed, missedCount, events, corrupt);
    }

    private bool Bad(int cpu, long pageIndex, int pos, string what)
    {
        _ctx.Warn(0, $"cpu{cpu} page {pageIndex} offset {pos}: {what}; rest of the page skipped");
        return true;
    }

    /// <summary>The format of an event id when it is known and selected (<see cref="OnlyIds"/>); warns once about unknown ids.</summary>
    private TraceEventFormat? Resolve(int id)
    {
        if (id == _lastId) return _lastFormat;
        if (OnlyIds is not null && !OnlyIds.Contains(id)) return null;
        if (!_formats.TryGetValue(id, out var fmt)) _formats[id] = fmt = _formatById(id);
        if (fmt is null)
        {
            bool first;
            lock (_unknownIds) first = _unknownIds.Add(id);
            if (first) _ctx.Warn(0, $"event id {id} has no format; its records are skipped");
            return null;
        }
        if (OnlyIds is null) { _lastId = id; _lastFormat = fmt; } // the filter may change between pages
        return fmt;
    }

    /// <summary>Decodes one record's payload (starting at <c>common_type</c>) with its format; null when the id is unknown or filtered out.</summary>
    public FtraceEvent? DecodeRecord(ReadOnlySpan<byte> rec, ulong ts, int cpu)
    {
        if (rec.Length < 8) return null;
        if (Resolve(BinaryPrimitives.ReadUInt16LittleEndian(rec)) is not { } fmt) return null;
        var copy = rec.ToArray();
        return Materialize(new RawRecord(ts, copy, 0, copy.Length, fmt), cpu);
    }

    /// <summary>The event of a walked record: header fields now, its own fields when first read.</summary>
    public FtraceEvent Materialize(in RawRecord r, int cpu)
    {
        var rec = new ReadOnlySpan<byte>(r.Data, r.Offset, r.Length);
        byte preempt = rec[3];
        int pid = BinaryPrimitives.ReadInt32LittleEndian(rec[4..]);
        var fmt = r.Format;
        return new FtraceEvent
        {
            TimestampNanoseconds = r.Timestamp,
            ClockMapping = ClockMapping,
            Clock = ClockName,
            Cpu = cpu,
            ProcessId = pid,
            Command = CommandOf(pid),
            System = fmt.System,
            Event = fmt.Name,
            RawFlags = rec[2],
            PreemptDepth = preempt & 0x0F,
            MigrateDisable = preempt >> 4,
            Length = r.Length,
            Raw = new FtraceEvent.RawFields(r.Data, r.Offset, fmt, _layout.LongSize, fmt.System == "ftrace" ? Symbolize : null),
        };
    }

    /// <summary>The event's own fields (not the <c>common_</c> ones) of a record, in format order.</summary>
    public static OrderedDictionary<string, object?> DecodeFields(ReadOnlySpan<byte> rec, TraceEventFormat fmt, int longSize, Func<ulong, string?>? symbolize)
    {
        var fields = new FtraceFields(fmt.Fields.Count);
        foreach (var f in fmt.Fields)
        {
            if (f.IsCommon) continue;
            fields[f.Name] = DecodeField(rec, f, longSize);
        }
        if (symbolize is not null && fields.TryGetValue("ip", out var ipv) && ipv is ulong ip)
        {
            fields["function"] = symbolize(ip);
            if (fields.TryGetValue("parent_ip", out var pv) && pv is ulong parent) fields["parent"] = symbolize(parent);
        }
        return fields;
    }

    private string? CommandOf(int pid)
    {
        if (pid == 0) return "<idle>";
        if (_commandOf is null) return null;
        if (_commCache.TryGetValue(pid, out var c)) return c;
        c = _commandOf(pid);
        if (c is not null) _commCache[pid] = c;
        return c;
    }

    /// <summary>The typed value of one field, or null when the record is too short for it.</summary>
    public static object? DecodeField(ReadOnlySpan<byte> rec, TraceEventField f, int longSize = 8)
    {
        switch (f.Kind)
        {
            case TraceFieldKind.Integer:
                return f.Offset + f.Size <= rec.Length ? ReadInt(rec[f.Offset..], f.Size, f.IsSigned, f.Type == "bool") : null;
            case TraceFieldKind.Pointer:
                return f.Offset + f.Size <= rec.Length ? ReadUnsigned(rec[f.Offset..], f.Size) : null;
            case TraceFieldKind.String:
                return f.Offset + f.Size <= rec.Length ? CString(rec.Slice(f.Offset, f.Size)) : null;
            case TraceFieldKind.Array:
                return f.Offset + f.Size <= rec.Length ? ReadArray(rec.Slice(f.Offset, f.Size), f.ElementSize, f.IsSigned) : null;
            case TraceFieldKind.TrailingArray:
                return f.Offset <= rec.Length ? ReadArray(rec[f.Offset..], f.ElementSize, f.IsSigned) : null;
            case TraceFieldKind.DynamicString:
            case TraceFieldKind.DynamicArray:
            {
                if (f.Offset + 4 > rec.Length) return null;
                uint loc = BinaryPrimitives.ReadUInt32LittleEndian(rec[f.Offset..]);
                int off = (int)(loc & 0xFFFF), len = (int)(loc >> 16);
                if (f.Type.StartsWith("__rel_loc")) off += f.Offset + 4;
                if (off + len > rec.Length) return null;
                var bytes = rec.Slice(off, len);
                return f.Kind == TraceFieldKind.DynamicString ? CString(bytes) : ReadArray(bytes, f.ElementSize, f.IsSigned);
            }
            default:
                return f.Offset + f.Size <= rec.Length ? rec.Slice(f.Offset, f.Size).ToArray() : null;
        }
    }

    private static object ReadInt(ReadOnlySpan<byte> b, int size, bool signed, bool isBool) => size switch
    {
        1 => isBool ? b[0] != 0 : signed ? (sbyte)b[0] : b[0],
        2 => signed ? BinaryPrimitives.ReadInt16LittleEndian(b) : BinaryPrimitives.ReadUInt16LittleEndian(b),
        4 => signed ? BinaryPrimitives.ReadInt32LittleEndian(b) : BinaryPrimitives.ReadUInt32LittleEndian(b),
        _ => signed ? BinaryPrimitives.ReadInt64LittleEndian(b) : BinaryPrimitives.ReadUInt64LittleEndian(b),
    };

    private static ulong ReadUnsigned(ReadOnlySpan<byte> b, int size) => size switch
    {
        1 => b[0],
        2 => BinaryPrimitives.ReadUInt16LittleEndian(b),
        4 => BinaryPrimitives.ReadUInt32LittleEndian(b),
        _ => BinaryPrimitives.ReadUInt64LittleEndian(b),
    };

    private static Array ReadArray(ReadOnlySpan<byte> b, int elementSize, bool signed)
    {
        if (elementSize is not (2 or 4 or 8)) return b.ToArray();
        int n = b.Length / elementSize;
        if (signed)
        {
            var a = new long[n];
            for (int i = 0; i < n; i++) a[i] = Convert.ToInt64(ReadInt(b[(i * elementSize)..], elementSize, true, false));
            return a;
        }
        var u = new ulong[n];
        for (int i = 0; i < n; i++) u[i] = ReadUnsigned(b[(i * elementSize)..], elementSize);
        return u;
    }

    private static string CString(ReadOnlySpan<byte> b)
    {
        int nul = b.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul >= 0 ? b[..nul] : b);
    }
}
