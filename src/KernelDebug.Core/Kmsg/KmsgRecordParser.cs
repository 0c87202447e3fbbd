using System.Text;
using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Kmsg;

/// <summary>The fields of a <c>/dev/kmsg</c> record header <c>prio,seq,usec,flag[,caller];</c>.</summary>
/// <param name="Level">Level from the priority (prio &amp; 7).</param>
/// <param name="Facility">Facility from the priority (prio &gt;&gt; 3).</param>
/// <param name="Sequence">The kernel's record sequence number.</param>
/// <param name="Microseconds">Monotonic timestamp of the record in microseconds since boot.</param>
/// <param name="Flag">'-' for a whole record, 'c' / '+' for fragments of older kernels.</param>
/// <param name="ThreadId">Caller thread from <c>caller=T1234</c>.</param>
/// <param name="CpuId">Caller CPU from <c>caller=C1</c>.</param>
/// <param name="TextStart">Index of the text after the ';'.</param>
public readonly record struct KmsgHeader(KernelLogLevel Level, KernelLogFacility Facility, long Sequence, long Microseconds,
    char Flag, int? ThreadId, int? CpuId, int TextStart);

/// <summary>
/// Parses <c>/dev/kmsg</c> records (Documentation/ABI/testing/dev-kmsg): a header line
/// <c>prio,seq,usec,flag[,caller];text</c> followed by continuation lines <c> KEY=value</c> (the record's dictionary,
/// e.g. SUBSYSTEM and DEVICE). Unprintable bytes and the backslash are escaped as <c>\xNN</c> by the kernel and decoded here.
/// Pure: no I/O, never throws on bad input.
/// </summary>
public static class KmsgRecordParser
{
    /// <summary>Parses a header line. False when the line is not one (no warning: the caller decides).</summary>
    public static bool TryParseHeader(ReadOnlySpan<char> line, out KmsgHeader header)
    {
        header = default;
        int semi = line.IndexOf(';');
        if (semi < 7) return false;
        var h = line[..semi];
        int i = 0;
        if (!ReadNumber(h, ref i, out long prio) || prio > 1023 || !Expect(h, ref i, ',')) return false;
        if (!ReadNumber(h, ref i, out long seq) || !Expect(h, ref i, ',')) return false;
        if (!ReadNumber(h, ref i, out long usec) || !Fields.TryMicroseconds(usec, out _) || !Expect(h, ref i, ',')) return false;
        if (i >= h.Length) return false;
        char flag = h[i++];
        int? tid = null, cpu = null;
        // Further comma-separated fields may follow; the only one defined today is caller=T123 / caller=C1.
        while (i < h.Length)
        {
            if (h[i] != ',') return false;
            i++;
            int end = h[i..].IndexOf(',');
            var field = end < 0 ? h[i..] : h.Slice(i, end);
            i = end < 0 ? h.Length : i + end;
            if (field.StartsWith("caller=") && field.Length > 8 && Fields.TryLong(field[8..], out long id) && id >= 0 && id <= int.MaxValue)
            {
                if (field[7] == 'T') tid = (int)id;
                else if (field[7] == 'C') cpu = (int)id;
            }
        }
        header = new KmsgHeader((KernelLogLevel)(prio & 7), (KernelLogFacility)(prio >> 3), seq, usec, flag, tid, cpu, semi + 1);
        return true;
    }

    /// <summary>
    /// Parses one whole record as <c>read()</c> returns it from <c>/dev/kmsg</c> (header line plus continuation lines).
    /// Returns null (with a warning) when the header is malformed.
    /// </summary>
    public static KernelMessage? ParseRecord(ReadOnlySpan<char> record, ParseContext ctx, DateTimeOffset? bootTime, string? source = null, int lineNumber = 0)
    {
        int nl = record.IndexOf('\n');
        var first = nl < 0 ? record : record[..nl];
        if (!TryParseHeader(first, out var h))
        {
            ctx.Warn(lineNumber, "not a /dev/kmsg record header", first);
            return null;
        }
        var m = Create(h, first, bootTime, source, lineNumber > 0 ? lineNumber : null);
        if (nl >= 0)
        {
            Dictionary<string, string>? dict = null;
            foreach (var cont in record[(nl + 1)..].EnumerateLines())
            {
                if (cont.IsEmpty) continue;
                if (cont[0] != ' ' || !TryParseContinuation(cont, out var key, out var value))
                {
                    ctx.Warn(lineNumber, "not a /dev/kmsg continuation line", cont);
                    continue;
                }
                (dict ??= new Dictionary<string, string>(StringComparer.Ordinal))[key] = value;
            }
            if (dict is not null) m = WithProperties(m, dict);
        }
        return m;
    }

    /// <summary>The message for a parsed header line (without continuation keys).</summary>
    public static KernelMessage Create(in KmsgHeader h, ReadOnlySpan<char> line, DateTimeOffset? bootTime, string? source, int? lineNumber)
    {
        var uptime = TimeSpan.FromTicks(h.Microseconds * 10);
        return new KernelMessage
        {
            Sequence = h.Sequence,
            Uptime = uptime,
            Time = Fields.AddOrNull(bootTime, uptime),
            Level = h.Level,
            Facility = h.Facility,
            ThreadId = h.ThreadId,
            CpuId = h.CpuId,
            Text = Unescape(line[h.TextStart..]),
            Source = source,
            LineNumber = lineNumber,
        };
    }

    /// <summary>Splits a continuation line <c> KEY=value</c>; the value is unescaped.</summary>
    public static bool TryParseContinuation(ReadOnlySpan<char> line, out string key, out string value)
    {
        key = value = "";
        var t = line.TrimStart(' ');
        int eq = t.IndexOf('=');
        if (eq <= 0) return false;
        foreach (char c in t[..eq])
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_')) return false;
        key = t[..eq].ToString();
        value = Unescape(t[(eq + 1)..]);
        return true;
    }

    /// <summary>Adds continuation keys to a message, filling <see cref="KernelMessage.Subsystem"/> and <see cref="KernelMessage.Device"/>.</summary>
    public static KernelMessage WithProperties(KernelMessage m, IReadOnlyDictionary<string, string> dict) => m with
    {
        Properties = dict,
        Subsystem = dict.TryGetValue("SUBSYSTEM", out var s) ? s : m.Subsystem,
        Device = dict.TryGetValue("DEVICE", out var d) ? d : m.Device,
    };

    /// <summary>Decodes the kernel's <c>\xNN</c> escapes (bytes, so escaped UTF-8 sequences become their characters).</summary>
    public static string Unescape(ReadOnlySpan<char> text)
    {
        int bs = text.IndexOf("\\x");
        if (bs < 0) return text.ToString();
        var bytes = new List<byte>(text.Length);
        var sb = new StringBuilder(text.Length);
        int i = 0;
        while (i < text.Length)
        {
            if (text[i] == '\\' && i + 3 < text.Length && text[i + 1] == 'x' && IsHex(text[i + 2]) && IsHex(text[i + 3]))
            {
                bytes.Add((byte)(HexValue(text[i + 2]) * 16 + HexValue(text[i + 3])));
                i += 4;
                continue;
            }
            Flush();
            sb.Append(text[i]);
            i++;
        }
        Flush();
        return sb.ToString();

        void Flush()
        {
            if (bytes.Count == 0) return;
            sb.Append(Encoding.UTF8.GetString(bytes.ToArray()));
            bytes.Clear();
        }
    }

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);
    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    private static bool ReadNumber(ReadOnlySpan<char> s, ref int i, out long value)
    {
        value = 0;
        int start = i;
        while (i < s.Length && (uint)(s[i] - '0') <= 9)
        {
            if (i - start >= 18) return false;
            value = value * 10 + (s[i] - '0');
            i++;
        }
        return i > start;
    }

    private static bool Expect(ReadOnlySpan<char> s, ref int i, char c)
    {
        if (i < s.Length && s[i] == c) { i++; return true; }
        return false;
    }
}
