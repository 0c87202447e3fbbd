using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Tracing;

/// <summary>
/// The binary layout of ring-buffer pages, from tracefs <c>events/header_page</c> (the page header: timestamp,
/// commit, data) and <c>events/header_event</c> (the compressed event header: type_len/time_delta bits and the
/// type_len values of padding, time-extend and absolute-timestamp records).
/// </summary>
public sealed record RingBufferLayout
{
    /// <summary>The x86-64 layout every current kernel prints (used when the header files are unavailable).</summary>
    public static RingBufferLayout Default { get; } = new();

    /// <summary>Offset of the page's base timestamp.</summary>
    public int TimestampOffset { get; init; }
    /// <summary>Size of the base timestamp.</summary>
    public int TimestampSize { get; init; } = 8;
    /// <summary>Offset of the commit word (bytes of data written; top bits flag missed events).</summary>
    public int CommitOffset { get; init; } = 8;
    /// <summary>Size of the commit word (the kernel's <c>long</c>).</summary>
    public int CommitSize { get; init; } = 8;
    /// <summary>Offset of the first event.</summary>
    public int DataOffset { get; init; } = 16;
    /// <summary>Bytes of event data a page can hold.</summary>
    public int DataSize { get; init; } = 4080;
    /// <summary>Bits of the event header holding type_len.</summary>
    public int TypeLenBits { get; init; } = 5;
    /// <summary>Bits of the event header holding time_delta.</summary>
    public int TimeDeltaBits { get; init; } = 27;
    /// <summary>type_len of a padding record.</summary>
    public int PaddingType { get; init; } = 29;
    /// <summary>type_len of a time-extend record.</summary>
    public int TimeExtendType { get; init; } = 30;
    /// <summary>type_len of an absolute-timestamp record.</summary>
    public int TimeStampType { get; init; } = 31;
    /// <summary>Largest type_len of a data record.</summary>
    public int MaxDataType { get; init; } = 28;

    /// <summary>Size of the kernel's <c>long</c> (and pointers), taken from the commit word.</summary>
    public int LongSize => CommitSize;

    /// <summary>Parses <c>events/header_page</c> and (optionally) <c>events/header_event</c>; missing parts keep the defaults.</summary>
    public static RingBufferLayout Parse(ReadOnlySpan<char> headerPage, ReadOnlySpan<char> headerEvent, ParseContext ctx)
    {
        var l = new RingBufferLayout();
        int n = 0;
        foreach (var raw in headerPage.EnumerateLines())
        {
            n++;
            var line = raw.Trim();
            if (line.IsEmpty) continue;
            // header_page spells "field: u64 timestamp;" with a blank after the colon; ParseField trims it.
            var f = TraceEventFormatParser.ParseField(line);
            if (f is null) { ctx.Warn(n, "header_page line not understood", line); continue; }
            l = f.Name switch
            {
                "timestamp" => l with { TimestampOffset = f.Offset, TimestampSize = f.Size },
                "commit" => l with { CommitOffset = f.Offset, CommitSize = f.Size },
                "data" => l with { DataOffset = f.Offset, DataSize = f.Size },
                _ => l, // "overwrite" shares the commit word
            };
        }
        n = 0;
        foreach (var raw in headerEvent.EnumerateLines())
        {
            n++;
            var line = raw.Trim();
            if (line.IsEmpty || line[0] == '#') continue;
            if (line.StartsWith("data max type_len"))
            {
                int max = LastNumber(line);
                if (max > 0) l = l with { MaxDataType = max };
                else ctx.Warn(n, "header_event value not understood", line);
                continue;
            }
            int colon = line.IndexOf(':');
            if (colon < 0) { ctx.Warn(n, "header_event line not understood", line); continue; }
            var key = line[..colon].Trim();
            var val = line[(colon + 1)..].Trim();
            int num = LastNumber(val);
            if (num < 0) { ctx.Warn(n, "header_event value not understood", line); continue; }
            if (key.SequenceEqual("type_len")) l = l with { TypeLenBits = num };
            else if (key.SequenceEqual("time_delta")) l = l with { TimeDeltaBits = num };
            else if (key.SequenceEqual("padding")) l = l with { PaddingType = num };
            else if (key.SequenceEqual("time_extend")) l = l with { TimeExtendType = num };
            else if (key.SequenceEqual("time_stamp")) l = l with { TimeStampType = num };
        }
        if (l.TypeLenBits + l.TimeDeltaBits != 32 || l.CommitSize is not (4 or 8) || l.TimestampSize != 8)
        {
            ctx.Warn(0, "ring-buffer header layout is not one this decoder knows; using the default layout");
            return Default;
        }
        return l;
    }

    // "5 bits", "type == 29", "data max type_len  == 28": the last token (before "bits"), which must be a whole number.
    private static int LastNumber(ReadOnlySpan<char> s)
    {
        s = s.TrimEnd();
        if (s.EndsWith(" bits")) s = s[..^5].TrimEnd();
        int sp = s.LastIndexOfAny(' ', '\t');
        return Fields.TryNonNegativeInt(s[(sp + 1)..], out int v) ? v : -1;
    }
}
