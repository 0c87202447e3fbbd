using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Procfs;

/// <summary>CPU time counters of one <c>cpu</c> line of <c>/proc/stat</c>, in clock ticks (USER_HZ).</summary>
public readonly record struct CpuTicks(ulong User, ulong Nice, ulong System, ulong Idle, ulong IoWait, ulong Irq,
    ulong SoftIrq, ulong Steal, ulong Guest, ulong GuestNice)
{
    /// <summary>All time: user..steal. Guest time is already part of user and nice, so it is not added again.</summary>
    public ulong Total => User + Nice + System + Idle + IoWait + Irq + SoftIrq + Steal;
}

/// <summary>One reading of <c>/proc/stat</c>: per-CPU tick counters and the system-wide counters since boot.</summary>
public sealed record ProcStatSample
{
    /// <summary>The "cpu" line: all CPUs together.</summary>
    public CpuTicks All { get; init; }
    /// <summary>The "cpuN" lines by CPU number.</summary>
    public IReadOnlyDictionary<int, CpuTicks> PerCpu { get; init; } = new Dictionary<int, CpuTicks>();
    /// <summary>Context switches since boot.</summary>
    public ulong ContextSwitches { get; init; }
    /// <summary>Interrupts serviced since boot (the first number of the intr line).</summary>
    public ulong Interrupts { get; init; }
    /// <summary>Soft interrupts serviced since boot.</summary>
    public ulong SoftInterrupts { get; init; }
    /// <summary>Processes and threads created since boot.</summary>
    public ulong Forks { get; init; }
    /// <summary>Tasks runnable now.</summary>
    public int ProcsRunning { get; init; }
    /// <summary>Tasks blocked on I/O now.</summary>
    public int ProcsBlocked { get; init; }
    /// <summary>Boot time.</summary>
    public DateTimeOffset? BootTime { get; init; }
}

/// <summary>Parses <c>/proc/stat</c>.</summary>
public static class ProcStatParser
{
    /// <summary>Parses the text; unknown lines are ignored, malformed known ones go to <paramref name="ctx"/>.</summary>
    public static ProcStatSample Parse(ReadOnlySpan<char> text, ParseContext ctx)
    {
        CpuTicks all = default;
        var per = new Dictionary<int, CpuTicks>();
        ulong ctxt = 0, intr = 0, softirq = 0, forks = 0;
        int running = 0, blocked = 0;
        DateTimeOffset? btime = null;
        bool sawCpu = false;
        int n = 0;
        Span<ulong> v = stackalloc ulong[10];
        foreach (var line in text.EnumerateLines())
        {
            n++;
            if (line.IsWhiteSpace()) continue;
            var f = Fields.Split(line);
            var key = f.Next();
            if (key.StartsWith("cpu"))
            {
                int id = -1;
                if (key.Length > 3 && !int.TryParse(key[3..], out id)) { ctx.Warn(n, "bad cpu line name", line); continue; }
                v.Clear();
                int i = 0;
                bool ok = true;
                while (i < v.Length && f.MoveNext())
                {
                    if (!Fields.TryULong(f.Current, out v[i])) { ok = false; break; }
                    i++;
                }
                // Kernels since 2.6.33 print ten columns; four is the historical minimum.
                if (!ok || i < 4) { ctx.Warn(n, "cpu line needs at least four numeric columns", line); continue; }
                var t = new CpuTicks(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]);
                if (id < 0) { all = t; sawCpu = true; } else per[id] = t;
                continue;
            }
            var first = f.Next();
            switch (key)
            {
                case "ctxt": ctxt = Num(first, n, line, ctx); break;
                case "intr": intr = Num(first, n, line, ctx); break;
                case "softirq": softirq = Num(first, n, line, ctx); break;
                case "processes": forks = Num(first, n, line, ctx); break;
                case "procs_running": running = Int(Num(first, n, line, ctx), n, line, ctx); break;
                case "procs_blocked": blocked = Int(Num(first, n, line, ctx), n, line, ctx); break;
                case "btime":
                    if (Fields.TryLong(first, out long b) && Fields.TryUnixSeconds(b, out var bt)) btime = bt;
                    else ctx.Warn(n, "btime is not a time", line);
                    break;
            }
        }
        if (!sawCpu) ctx.Warn(0, "no 'cpu' summary line");
        return new ProcStatSample
        {
            All = all, PerCpu = per, ContextSwitches = ctxt, Interrupts = intr, SoftInterrupts = softirq, Forks = forks,
            ProcsRunning = running, ProcsBlocked = blocked, BootTime = btime,
        };
    }

    private static int Int(ulong v, int n, ReadOnlySpan<char> line, ParseContext ctx)
    {
        if (Fields.TryToInt(v, out int i)) return i;
        ctx.Warn(n, "a task count past the range of int", line);
        return int.MaxValue;
    }

    private static ulong Num(ReadOnlySpan<char> s, int n, ReadOnlySpan<char> line, ParseContext ctx)
    {
        if (Fields.TryULong(s, out ulong v)) return v;
        ctx.Warn(n, "expected a number", line);
        return 0;
    }
}

/// <summary>CPU time since boot (a single read of <c>/proc/stat</c>), for all CPUs or one.</summary>
public sealed record CpuTimes
{
    /// <summary>"All" for the machine, or the CPU number.</summary>
    public required string Cpu { get; init; }
    /// <summary>User time, guest time excluded.</summary>
    public TimeSpan User { get; init; }
    /// <summary>User time at lowered priority, guest nice excluded.</summary>
    public TimeSpan Nice { get; init; }
    /// <summary>Kernel time.</summary>
    public TimeSpan System { get; init; }
    /// <summary>Idle time.</summary>
    public TimeSpan Idle { get; init; }
    /// <summary>Idle while I/O was outstanding.</summary>
    public TimeSpan IoWait { get; init; }
    /// <summary>Hard interrupt handling.</summary>
    public TimeSpan Irq { get; init; }
    /// <summary>Soft interrupt handling.</summary>
    public TimeSpan SoftIrq { get; init; }
    /// <summary>Time the hypervisor ran something else.</summary>
    public TimeSpan Steal { get; init; }
    /// <summary>Time running guest virtual CPUs.</summary>
    public TimeSpan Guest { get; init; }
    /// <summary>Time running niced guests.</summary>
    public TimeSpan GuestNice { get; init; }
    /// <summary>Context switches since boot (machine-wide; null on per-CPU records).</summary>
    public ulong? ContextSwitches { get; init; }
    /// <summary>Interrupts since boot (machine-wide).</summary>
    public ulong? Interrupts { get; init; }
    /// <summary>Forks since boot (machine-wide).</summary>
    public ulong? Forks { get; init; }
    /// <summary>Runnable tasks now (machine-wide).</summary>
    public int? ProcsRunning { get; init; }
    /// <summary>Tasks blocked on I/O now (machine-wide).</summary>
    public int? ProcsBlocked { get; init; }
    /// <summary>Boot time (machine-wide).</summary>
    public DateTimeOffset? BootTime { get; init; }
}

/// <summary>CPU use over an interval: the difference of two <c>/proc/stat</c> readings, as percentages and rates.</summary>
public sealed record CpuUsage
{
    /// <summary>"All" for the machine, or the CPU number.</summary>
    public required string Cpu { get; init; }
    /// <summary>When the interval ended.</summary>
    public DateTimeOffset Timestamp { get; init; }
    /// <summary>Length of the interval.</summary>
    public TimeSpan Interval { get; init; }
    /// <summary>Percent of time in user mode (guest excluded).</summary>
    public double UserPercent { get; init; }
    /// <summary>Percent in niced user mode (guest nice excluded).</summary>
    public double NicePercent { get; init; }
    /// <summary>Percent in the kernel.</summary>
    public double SystemPercent { get; init; }
    /// <summary>Percent idle.</summary>
    public double IdlePercent { get; init; }
    /// <summary>Percent idle with I/O outstanding.</summary>
    public double IoWaitPercent { get; init; }
    /// <summary>Percent in hard interrupts.</summary>
    public double IrqPercent { get; init; }
    /// <summary>Percent in soft interrupts.</summary>
    public double SoftIrqPercent { get; init; }
    /// <summary>Percent stolen by the hypervisor.</summary>
    public double StealPercent { get; init; }
    /// <summary>Percent running guests (guest and guest nice).</summary>
    public double GuestPercent { get; init; }
    /// <summary>100 − idle − iowait.</summary>
    public double BusyPercent { get; init; }
    /// <summary>Context switches per second (machine-wide; null on per-CPU records).</summary>
    public double? ContextSwitchesPerSecond { get; init; }
    /// <summary>Interrupts per second (machine-wide).</summary>
    public double? InterruptsPerSecond { get; init; }
    /// <summary>Forks per second (machine-wide).</summary>
    public double? ForksPerSecond { get; init; }
    /// <summary>Runnable tasks at the end of the interval (machine-wide).</summary>
    public int? ProcsRunning { get; init; }
    /// <summary>Tasks blocked on I/O at the end of the interval (machine-wide).</summary>
    public int? ProcsBlocked { get; init; }
}

/// <summary>Turns <see cref="ProcStatSample"/>s into <see cref="CpuTimes"/> and <see cref="CpuUsage"/> records.</summary>
public static class CpuStatCalculator
{
    /// <summary>Clock ticks per second of <c>/proc/stat</c> (USER_HZ): 100 on every Linux architecture.</summary>
    public const int UserHz = 100;

    private static TimeSpan T(ulong ticks) => TimeSpan.FromTicks((long)Math.Min(ticks, (ulong)(long.MaxValue / (TimeSpan.TicksPerSecond / UserHz))) * (TimeSpan.TicksPerSecond / UserHz));

    /// <summary>The since-boot times: the machine first, then each CPU when <paramref name="perCpu"/>.</summary>
    public static IEnumerable<CpuTimes> SinceBoot(ProcStatSample s, bool perCpu)
    {
        yield return Times("All", s.All) with
        {
            ContextSwitches = s.ContextSwitches, Interrupts = s.Interrupts, Forks = s.Forks,
            ProcsRunning = s.ProcsRunning, ProcsBlocked = s.ProcsBlocked, BootTime = s.BootTime,
        };
        if (perCpu)
            foreach (var (id, t) in s.PerCpu.OrderBy(p => p.Key)) yield return Times(id.ToString(System.Globalization.CultureInfo.InvariantCulture), t);
    }

    private static CpuTimes Times(string cpu, CpuTicks t) => new()
    {
        Cpu = cpu,
        User = T(t.User - Math.Min(t.User, t.Guest)), Nice = T(t.Nice - Math.Min(t.Nice, t.GuestNice)), System = T(t.System),
        Idle = T(t.Idle), IoWait = T(t.IoWait), Irq = T(t.Irq), SoftIrq = T(t.SoftIrq), Steal = T(t.Steal),
        Guest = T(t.Guest), GuestNice = T(t.GuestNice),
    };

    /// <summary>Usage between two samples taken <paramref name="elapsed"/> apart: the machine, then each CPU present in both when <paramref name="perCpu"/>.</summary>
    public static IEnumerable<CpuUsage> Between(ProcStatSample a, ProcStatSample b, TimeSpan elapsed, DateTimeOffset end, bool perCpu)
    {
        double secs = Math.Max(elapsed.TotalSeconds, 1e-9);
        yield return Usage("All", a.All, b.All, elapsed, end) with
        {
            ContextSwitchesPerSecond = Math.Round(Delta(a.ContextSwitches, b.ContextSwitches) / secs, 1),
            InterruptsPerSecond = Math.Round(Delta(a.Interrupts, b.Interrupts) / secs, 1),
            ForksPerSecond = Math.Round(Delta(a.Forks, b.Forks) / secs, 1),
            ProcsRunning = b.ProcsRunning,
            ProcsBlocked = b.ProcsBlocked,
        };
        if (perCpu)
            foreach (var (id, tb) in b.PerCpu.OrderBy(p => p.Key))
                if (a.PerCpu.TryGetValue(id, out var ta))
                    yield return Usage(id.ToString(System.Globalization.CultureInfo.InvariantCulture), ta, tb, elapsed, end);
    }

    // Counters can go backwards when a CPU goes offline and back (its idle time restarts): clamp at zero.
    private static double Delta(ulong a, ulong b) => b >= a ? b - a : 0;

    private static CpuUsage Usage(string cpu, CpuTicks a, CpuTicks b, TimeSpan elapsed, DateTimeOffset end)
    {
        double user = Delta(a.User, b.User), nice = Delta(a.Nice, b.Nice), sys = Delta(a.System, b.System), idle = Delta(a.Idle, b.Idle),
            iow = Delta(a.IoWait, b.IoWait), irq = Delta(a.Irq, b.Irq), sirq = Delta(a.SoftIrq, b.SoftIrq), steal = Delta(a.Steal, b.Steal),
            guest = Delta(a.Guest, b.Guest), gnice = Delta(a.GuestNice, b.GuestNice);
        double total = user + nice + sys + idle + iow + irq + sirq + steal;
        double P(double x) => total <= 0 ? 0 : Math.Round(100.0 * x / total, 2);
        return new CpuUsage
        {
            Cpu = cpu, Timestamp = end, Interval = elapsed,
            UserPercent = P(Math.Max(0, user - guest)), NicePercent = P(Math.Max(0, nice - gnice)), SystemPercent = P(sys),
            IdlePercent = P(idle), IoWaitPercent = P(iow), IrqPercent = P(irq), SoftIrqPercent = P(sirq), StealPercent = P(steal),
            GuestPercent = P(guest + gnice), BusyPercent = total <= 0 ? 0 : Math.Round(100.0 - P(idle) - P(iow), 2),
        };
    }
}

/// <summary>Reads <c>/proc/stat</c> from a <see cref="KernelRoot"/>.</summary>
public static class ProcStatReader
{
    /// <summary>One reading.</summary>
    public static ProcStatSample Read(KernelRoot root, ParseContext ctx)
    {
        ctx.Source = root.Resolve("proc/stat");
        return ProcStatParser.Parse(root.ReadText("proc/stat", "procfs (always present when /proc is mounted)"), ctx);
    }
}
