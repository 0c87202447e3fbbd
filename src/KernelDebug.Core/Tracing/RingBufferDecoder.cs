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
    private readonly HashSet<int> _unknownIds = new();
    private readonly Dictionary<int, string> _commCache = new();
    private readonly Dictionary<int, TraceEventFormat?> _formats = new();

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
        int pos = 0, count = 0;
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
            var ev = DecodeRecord(data.Slice(payloadStart, payloadLength), ts, cpu);
            if (ev is not null) { output.Add(ev); count++; }
            pos += total;
        }
        return new RingBufferPage(ts, (int)length, missed, missedCount, count, corrupt);
    }

    private bool Bad(int cpu, long pageIndex, int pos, string what)
    {
        _ctx.Warn(0, $"cpu{cpu} page {pageIndex} offset {pos}: {what}; rest of the page skipped");
        return true;
    }

    /// <summary>Decodes one record's payload (starting at <c>common_type</c>) with its format; null when the id is unknown or filtered out.</summary>
    public FtraceEvent? DecodeRecord(ReadOnlySpan<byte> rec, ulong ts, int cpu)
    {
        if (rec.Length < 8) return null;
        int id = BinaryPrimitives.ReadUInt16LittleEndian(rec);
        if (OnlyIds is not null && !OnlyIds.Contains(id)) return null;
        if (!_formats.TryGetValue(id, out var fmt)) _formats[id] = fmt = _formatById(id);
        if (fmt is null)
        {
            if (_unknownIds.Add(id)) _ctx.Warn(0, $"event id {id} has no format; its records are skipped");
            return null;
        }
        byte flags = rec[2];
        byte preempt = rec[3];
        int pid = BinaryPrimitives.ReadInt32LittleEndian(rec[4..]);
        var fields = new OrderedDictionary<string, object?>(fmt.Fields.Count);
        foreach (var f in fmt.Fields)
        {
            if (f.IsCommon) continue;
            fields[f.Name] = DecodeField(rec, f, _layout.LongSize);
        }
        if (Symbolize is not null && fmt.System == "ftrace" && fields.TryGetValue("ip", out var ipv) && ipv is ulong ip)
        {
            fields["function"] = Symbolize(ip);
            if (fields.TryGetValue("parent_ip", out var pv) && pv is ulong parent) fields["parent"] = Symbolize(parent);
        }
        return new FtraceEvent
        {
            TimestampNanoseconds = ts,
            Time = ClockMapping?.ToTime(ts),
            Clock = ClockName,
            Cpu = cpu,
            ProcessId = pid,
            Command = CommandOf(pid),
            System = fmt.System,
            Event = fmt.Name,
            RawFlags = flags,
            PreemptDepth = preempt & 0x0F,
            MigrateDisable = preempt >> 4,
            Fields = fields,
            Length = rec.Length,
        };
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
