using System.Globalization;
using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Kmsg;

/// <summary>The prefixes in front of a console or dmesg line: <c>&lt;6&gt;</c>, <c>[  12.345678]</c>, <c>[ T1234]</c> / <c>[ C1]</c>.</summary>
/// <param name="Level">Level and facility from a <c>&lt;N&gt;</c> prefix (N = facility*8 + level), else null.</param>
/// <param name="Facility">Facility from the same prefix.</param>
/// <param name="Uptime">Timestamp in seconds since boot, else null.</param>
/// <param name="ThreadId">Caller thread from <c>[ T1234]</c> or <c>[T1234]</c>.</param>
/// <param name="CpuId">Caller CPU from <c>[ C1]</c>.</param>
/// <param name="TextStart">Index where the message text starts.</param>
public readonly record struct ConsolePrefix(KernelLogLevel? Level, KernelLogFacility? Facility, TimeSpan? Uptime, int? ThreadId, int? CpuId, int TextStart)
{
    /// <summary>
    /// Parses the prefixes at the start of a line. Any of them may be missing; a line with none returns
    /// <c>TextStart = 0</c>. One space after the last prefix belongs to the prefix; further indentation
    /// (stack frames) stays in the text. Serial-console noise in front of the prefix — a login prompt
    /// (<c>host login: </c>) or <c>** N printk messages dropped ** </c> — is skipped when a prefix follows it.
    /// </summary>
    public static ConsolePrefix Parse(ReadOnlySpan<char> line)
    {
        var p = ParseAt(line);
        if (p.TextStart > 0) return p;
        int skip = ConsoleNoise(line);
        if (skip == 0) return p;
        var q = ParseAt(line[skip..]);
        return q.TextStart > 0 ? q with { TextStart = q.TextStart + skip } : p;
    }

    // Serial consoles mix user-space output (a login prompt) and printk's own drop notices into the line before the
    // kernel's prefix.
    private static int ConsoleNoise(ReadOnlySpan<char> line)
    {
        int i = 0;
        if (line.StartsWith("** "))
        {
            int end = line[3..].IndexOf(" ** ");
            if (end >= 0 && line[3..(3 + end)].EndsWith("printk messages dropped")) i = 3 + end + 4;
        }
        int login = line[i..].IndexOf(" login: ");
        if (login >= 0 && i + login + 8 < line.Length && line[i + login + 8] is '[' or '<') i += login + 8;
        return i;
    }

    private static ConsolePrefix ParseAt(ReadOnlySpan<char> line)
    {
        int i = 0;
        KernelLogLevel? level = null;
        KernelLogFacility? facility = null;
        TimeSpan? uptime = null;
        int? tid = null, cpu = null;

        if (line.Length >= 3 && line[0] == '<')
        {
            int close = line.IndexOf('>');
            if (close > 1 && close <= 5 && int.TryParse(line[1..close], NumberStyles.None, CultureInfo.InvariantCulture, out int pri))
            {
                level = (KernelLogLevel)(pri & 7);
                facility = (KernelLogFacility)(pri >> 3);
                i = close + 1;
            }
        }

        if (i < line.Length && line[i] == '[')
        {
            int close = line[i..].IndexOf(']');
            if (close > 0)
            {
                var inner = line.Slice(i + 1, close - 1).Trim();
                if (TryParseSeconds(inner, out long ticks))
                {
                    uptime = TimeSpan.FromTicks(ticks);
                    i += close + 1;
                }
            }
        }

        if (uptime is not null && i < line.Length && line[i] == '[')
        {
            int close = line[i..].IndexOf(']');
            if (close > 0)
            {
                var inner = line.Slice(i + 1, close - 1).Trim();
                if (inner.Length >= 2 && (inner[0] == 'T' || inner[0] == 'C') &&
                    int.TryParse(inner[1..], NumberStyles.None, CultureInfo.InvariantCulture, out int id))
                {
                    if (inner[0] == 'T') tid = id; else cpu = id;
                    i += close + 1;
                }
            }
        }

        if (i > 0 && i < line.Length && line[i] == ' ') i++;
        return new ConsolePrefix(level, facility, uptime, tid, cpu, i);
    }

    /// <summary>
    /// A prefix the kernel printed that came out damaged (a garbled serial line, an edited paste): a timestamp or level
    /// that is no number or past every range (<c>[ 1.2.3] </c>, <c>[  x7] </c>, <c>[ 18446744073709551616] </c>,
    /// <c>&lt;x7&gt;[  12.345678] </c>). For text <see cref="Parse"/> found no timestamp on; the parts that do parse
    /// are kept, a caller field after the timestamp too. False for text that only starts with a bracket: a frame
    /// address (<c>[&lt;c0150dc4&gt;]</c>, <c>[00000004]</c>), a caller field alone (<c>[ T12]</c>), a tag
    /// (<c>[drm:intel_dp_detect]</c>), a stack marker (<c>&lt;IRQ&gt;</c>).
    /// </summary>
    public static bool TryParseDamaged(ReadOnlySpan<char> line, out ConsolePrefix prefix)
    {
        prefix = default;
        int i = 0;
        bool damaged = false;
        KernelLogLevel? level = null;
        KernelLogFacility? facility = null;
        if (line.Length > 2 && line[0] == '<')
        {
            int gt = line.IndexOf('>');
            if (gt < 2 || gt > 24 || gt + 1 >= line.Length || line[gt + 1] != '[' || !IsNumberLike(line[1..gt])) return false;
            if (gt <= 5 && int.TryParse(line[1..gt], NumberStyles.None, CultureInfo.InvariantCulture, out int pri))
            {
                level = (KernelLogLevel)(pri & 7);
                facility = (KernelLogFacility)(pri >> 3);
            }
            else damaged = true;
            i = gt + 1;
        }
        if (i >= line.Length || line[i] != '[') return false;
        int close = line[i..].IndexOf(']');
        if (close < 2 || close > 48) return false;
        var raw = line.Slice(i + 1, close - 1);
        var inner = raw.Trim(' ');
        if (!IsNumberLike(inner)) return false;
        TimeSpan? uptime = null;
        if (TryParseSeconds(inner, out long ticks)) uptime = TimeSpan.FromTicks(ticks);
        else
        {
            // printk pads the seconds ("[%5lu.%06lu]"): a timestamp stands right-aligned after blanks, or keeps its dot.
            bool padded = raw[0] == ' ' && raw[^1] != ' ';
            bool dotted = char.IsAsciiDigit(inner[0]) && inner.Contains('.');
            if (!(padded || dotted) || IsCaller(inner)) return false;
            damaged = true;
        }
        i += close + 1;
        int? tid = null, cpu = null;
        if (i < line.Length && line[i] == '[' && line[i..].IndexOf(']') is int end and > 0 && IsCaller(line.Slice(i + 1, end - 1).Trim(' ')))
        {
            var c = line.Slice(i + 1, end - 1).Trim(' ');
            if (int.TryParse(c[1..], NumberStyles.None, CultureInfo.InvariantCulture, out int id))
            {
                if (c[0] == 'T') tid = id; else cpu = id;
            }
            else damaged = true;
            i += end + 1;
        }
        if (!damaged) return false;
        if (i < line.Length && line[i] == ' ') i++;
        prefix = new ConsolePrefix(level, facility, uptime, tid, cpu, i);
        return true;
    }

    // Digits, letters, '.', '+' and '-': what a number is written with, damaged or not; at least one digit.
    private static bool IsNumberLike(ReadOnlySpan<char> s)
    {
        bool digit = false;
        foreach (char c in s)
        {
            if (char.IsAsciiDigit(c)) digit = true;
            else if (!(char.IsAsciiLetter(c) || c is '.' or '+' or '-')) return false;
        }
        return digit;
    }

    // "T1234" / "C1": a caller field.
    private static bool IsCaller(ReadOnlySpan<char> s)
    {
        if (s.Length < 2 || s[0] is not ('T' or 'C')) return false;
        foreach (char c in s[1..]) if (!char.IsAsciiDigit(c)) return false;
        return true;
    }

    /// <summary>"12.345678" → ticks, without going through double (this runs once per log line).</summary>
    internal static bool TryParseSeconds(ReadOnlySpan<char> s, out long ticks)
    {
        ticks = 0;
        int dot = s.IndexOf('.');
        if (dot <= 0 || dot == s.Length - 1 || dot > 12) return false;
        long secs = 0;
        for (int k = 0; k < dot; k++)
        {
            uint d = (uint)(s[k] - '0');
            if (d > 9) return false;
            secs = secs * 10 + d;
        }
        long frac = 0;
        int digits = 0;
        for (int k = dot + 1; k < s.Length; k++)
        {
            uint d = (uint)(s[k] - '0');
            if (d > 9) return false;
            if (digits < 7) { frac = frac * 10 + d; digits++; }
        }
        while (digits < 7) { frac *= 10; digits++; }
        if (!Fields.TryScaleTicks(secs, TimeSpan.TicksPerSecond, out var whole) || whole.Ticks > long.MaxValue - frac) return false;
        ticks = whole.Ticks + frac;
        return true;
    }
}
