using System.Globalization;
using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Tracing;

/// <summary>
/// Parses the text ftrace prints in <c>trace</c> and <c>trace_pipe</c>
/// (<c>  bash-1234    [001] d..2.  881.386676: sched_switch: prev_comm=bash ...</c>) into <see cref="FtraceEvent"/>s.
/// Only the fallback when the binary per-CPU buffers cannot be read: fields come out as the text printed them
/// (<c>key=value</c> pairs; numbers as long where they parse), and the system is found from the event name when a
/// catalog knows it.
/// </summary>
public static class TracePipeTextParser
{
    /// <summary>Parses one line; comment lines (#) and blank lines give null without a warning.</summary>
    public static FtraceEvent? ParseLine(ReadOnlySpan<char> line, int lineNumber, ParseContext ctx, Func<string, string?>? systemOf = null, string? clock = null)
    {
        var t = line.TrimStart();
        if (t.IsEmpty || t[0] == '#') return null;
        int open = t.IndexOf(" [");
        int close = open < 0 ? -1 : t[open..].IndexOf(']') + open;
        if (open < 0 || close < 0) { ctx.Warn(lineNumber, "expected 'task-pid [cpu]'", line); return null; }
        var task = t[..open].TrimEnd();
        int dash = task.LastIndexOf('-');
        if (dash <= 0 || !Fields.TryNonNegativeInt(task[(dash + 1)..], out int pid)) { ctx.Warn(lineNumber, "expected 'task-pid'", line); return null; }
        if (!Fields.TryNonNegativeInt(t[(open + 2)..close], out int cpu)) { ctx.Warn(lineNumber, "CPU is not a number", line); return null; }
        var rest = t[(close + 1)..].TrimStart();
        byte flags = 0;
        int depth = 0;
        // Optional latency flags "d..2." before the timestamp.
        int sp = rest.IndexOf(' ');
        if (sp > 0 && rest[sp - 1] != ':') // the timestamp token ends with ':'; a token before it is the flags
        {
            var f = rest[..sp];
            if (f.Length > 0 && f[0] == 'd') flags |= 0x01;
            if (f.Length > 1 && (f[1] is 'N' or 'n')) flags |= 0x04;
            if (f.Length > 1 && (f[1] is 'N' or 'p')) flags |= 0x20;
            if (f.Length > 2) flags |= f[2] switch { 'h' => (byte)0x08, 's' => (byte)0x10, 'H' => (byte)0x18, 'z' => (byte)0x40, 'Z' => (byte)0x48, _ => (byte)0 };
            if (f.Length > 3 && char.IsAsciiHexDigit(f[3])) depth = Convert.ToInt32(f[3].ToString(), 16);
            rest = rest[sp..].TrimStart();
        }
        int colon = rest.IndexOf(": ");
        if (colon < 0 || !decimal.TryParse(rest[..colon], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal seconds))
        { ctx.Warn(lineNumber, "expected 'timestamp: event:'", line); return null; }
        if (seconds > ulong.MaxValue / 1_000_000_000m) { ctx.Warn(lineNumber, "timestamp is past the range of the trace clock", line); return null; }
        rest = rest[(colon + 2)..];
        int evEnd = rest.IndexOf(':');
        if (evEnd <= 0) { ctx.Warn(lineNumber, "expected 'event:'", line); return null; }
        string ev = rest[..evEnd].ToString();
        var fields = new FtraceFields();
        foreach (var tok in rest[(evEnd + 1)..].ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = tok.IndexOf('=');
            if (eq <= 0) continue;
            string v = tok[(eq + 1)..];
            fields[tok[..eq]] = long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n) ? n : v;
        }
        return new FtraceEvent
        {
            TimestampNanoseconds = (ulong)(seconds * 1_000_000_000m),
            Clock = clock,
            Cpu = cpu,
            ProcessId = pid,
            Command = task[..dash].ToString(),
            System = systemOf?.Invoke(ev) ?? "",
            Event = ev,
            RawFlags = flags,
            PreemptDepth = depth,
            Fields = fields,
        };
    }
}
