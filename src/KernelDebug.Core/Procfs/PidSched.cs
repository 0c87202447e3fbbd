using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Procfs;

/// <summary>Reads values of <c>/proc/PID/sched</c> ("se.exec_start    :    629702.132738").</summary>
public static class PidSchedParser
{
    /// <summary>
    /// <c>se.exec_start</c>: the scheduler clock (milliseconds since boot) when the task last started or stopped
    /// running, or null when the line is missing or malformed.
    /// </summary>
    public static double? ExecStartMilliseconds(ReadOnlySpan<char> text, ParseContext ctx)
    {
        int n = 0;
        foreach (var line in text.EnumerateLines())
        {
            n++;
            if (!line.StartsWith("se.exec_start")) continue;
            int colon = line.IndexOf(':');
            if (colon > 0 && Fields.TryDouble(line[(colon + 1)..].Trim(), out double ms) && ms >= 0) return ms;
            ctx.Warn(n, "se.exec_start is not a number", line);
            return null;
        }
        return null;
    }
}

/// <summary>Parses <c>/proc/PID/cgroup</c> ("0::/system.slice/foo.service").</summary>
public static class PidCgroupParser
{
    /// <summary>The cgroup v2 path, or on a v1-only system the first hierarchy's path; null when there is none.</summary>
    public static string? Parse(ReadOnlySpan<char> text)
    {
        string? first = null;
        foreach (var line in text.EnumerateLines())
        {
            int a = line.IndexOf(':');
            if (a < 0) continue;
            int b = line[(a + 1)..].IndexOf(':');
            if (b < 0) continue;
            var path = line[(a + b + 2)..].ToString();
            if (line.StartsWith("0::")) return path;
            first ??= path;
        }
        return first;
    }
}
