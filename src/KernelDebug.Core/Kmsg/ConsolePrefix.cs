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
