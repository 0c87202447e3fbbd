using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Procfs;

/// <summary><c>/proc/loadavg</c>: run-queue averages, also divided by the CPU count so boxes of any size compare.</summary>
public sealed record LoadAverage
{
    /// <summary>1-minute average of runnable plus uninterruptible tasks.</summary>
    public double Load1 { get; init; }
    /// <summary>5-minute average.</summary>
    public double Load5 { get; init; }
    /// <summary>15-minute average.</summary>
    public double Load15 { get; init; }
    /// <summary>Online CPUs used for the per-CPU values (0 when unknown).</summary>
    public int CpuCount { get; init; }
    /// <summary>Load1 / CpuCount; above 1 means more work than CPUs.</summary>
    public double? Load1PerCpu { get; init; }
    /// <summary>Load5 / CpuCount.</summary>
    public double? Load5PerCpu { get; init; }
    /// <summary>Load15 / CpuCount.</summary>
    public double? Load15PerCpu { get; init; }
    /// <summary>Tasks runnable now.</summary>
    public int Running { get; init; }
    /// <summary>Tasks (threads) that exist.</summary>
    public int Total { get; init; }
    /// <summary>The most recently assigned process id.</summary>
    public int LastPid { get; init; }
}

/// <summary>Parses <c>/proc/loadavg</c>: "0.52 0.58 0.59 2/1234 5678".</summary>
public static class LoadAverageParser
{
    /// <summary>Parses the first line; missing or malformed fields stay zero and are reported.</summary>
    public static LoadAverage Parse(ReadOnlySpan<char> text, ParseContext ctx, int cpuCount)
    {
        var line = text;
        int nl = line.IndexOf('\n');
        if (nl >= 0) line = line[..nl];
        var f = Fields.Split(line);
        double l1 = 0, l5 = 0, l15 = 0;
        int running = 0, total = 0, last = 0;
        bool ok = Fields.TryDouble(f.Next(), out l1) & Fields.TryDouble(f.Next(), out l5) & Fields.TryDouble(f.Next(), out l15);
        var rt = f.Next();
        int slash = rt.IndexOf('/');
        ok &= slash > 0 && Fields.TryNonNegativeInt(rt[..slash], out running) && Fields.TryNonNegativeInt(rt[(slash + 1)..], out total);
        ok &= Fields.TryNonNegativeInt(f.Next(), out last);
        if (!ok) ctx.Warn(1, "expected 'load1 load5 load15 running/total lastpid'", line);
        double? Per(double l) => cpuCount > 0 ? Math.Round(l / cpuCount, 3) : null;
        return new LoadAverage
        {
            Load1 = l1, Load5 = l5, Load15 = l15, CpuCount = cpuCount,
            Load1PerCpu = Per(l1), Load5PerCpu = Per(l5), Load15PerCpu = Per(l15),
            Running = running, Total = total, LastPid = last,
        };
    }

    /// <summary>Reads <c>/proc/loadavg</c> and the online CPU count of a root.</summary>
    public static LoadAverage Read(KernelRoot root, ParseContext ctx)
    {
        string text = root.ReadText("proc/loadavg", "procfs (always present when /proc is mounted)");
        int cpus = CpuList.Online(root).Count;
        ctx.Source = root.Resolve("proc/loadavg");
        return Parse(text, ctx, cpus);
    }
}
