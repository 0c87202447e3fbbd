using KernelDebug.Core.Parsing;
using KernelDebug.Core.Symbols;

namespace KernelDebug.Core.Procfs;

/// <summary>A call site that waited for a lock class, or held it while others waited (<c>/proc/lock_stat</c>).</summary>
/// <param name="Count">Contentions seen at the site.</param>
/// <param name="Frame">The site, <c>func+0x1d4/0x510</c>.</param>
/// <param name="Address">Its address, when printed.</param>
public sealed record LockContentionPoint(long Count, StackFrame? Frame, ulong? Address)
{
    /// <inheritdoc />
    public override string ToString() => $"{Count} {Frame}";
}

/// <summary>Contention and hold-time statistics of one lock class (and read or write side), from <c>/proc/lock_stat</c>.</summary>
public sealed record LockStat
{
    /// <summary>Lock class name (<c>&amp;mm-&gt;mmap_sem</c>, <c>&amp;rq-&gt;lock/1</c> for a subclass).</summary>
    public required string Class { get; init; }
    /// <summary>"Read" or "Write" for reader-writer locks (the <c>-R</c>/<c>-W</c> suffix), else null.</summary>
    public string? Access { get; init; }
    /// <summary>Contentions that involved data of another CPU.</summary>
    public long ContentionBounces { get; init; }
    /// <summary>Acquisitions that had to wait.</summary>
    public long Contentions { get; init; }
    /// <summary>Shortest wait.</summary>
    public TimeSpan WaitTimeMin { get; init; }
    /// <summary>Longest wait.</summary>
    public TimeSpan WaitTimeMax { get; init; }
    /// <summary>All waiting.</summary>
    public TimeSpan WaitTimeTotal { get; init; }
    /// <summary>Average wait.</summary>
    public TimeSpan WaitTimeAverage { get; init; }
    /// <summary>Acquisitions that involved data of another CPU.</summary>
    public long AcquisitionBounces { get; init; }
    /// <summary>Acquisitions.</summary>
    public long Acquisitions { get; init; }
    /// <summary>Shortest hold.</summary>
    public TimeSpan HoldTimeMin { get; init; }
    /// <summary>Longest hold.</summary>
    public TimeSpan HoldTimeMax { get; init; }
    /// <summary>All holding.</summary>
    public TimeSpan HoldTimeTotal { get; init; }
    /// <summary>Average hold.</summary>
    public TimeSpan HoldTimeAverage { get; init; }
    /// <summary>Call sites that waited for the lock (up to four, the first block after the stats).</summary>
    public IReadOnlyList<LockContentionPoint> ContentionPoints { get; init => field = Flat.List(value); } = FlatList<LockContentionPoint>.Empty;
    /// <summary>Call sites holding the lock while others waited (the second block).</summary>
    public IReadOnlyList<LockContentionPoint> ContendingPoints { get; init => field = Flat.List(value); } = FlatList<LockContentionPoint>.Empty;
}

/// <summary>Parses <c>/proc/lock_stat</c> (CONFIG_LOCK_STAT; format "lock_stat version 0.4", described in Documentation/locking/lockstat.rst).</summary>
public static class LockStatParser
{
    private const int Columns = 12;

    /// <summary>Every lock class line with its contention points; malformed lines go to <paramref name="ctx"/>.</summary>
    public static IReadOnlyList<LockStat> Parse(ReadOnlySpan<char> text, ParseContext ctx)
    {
        var result = new List<LockStat>();
        var group = new List<LockStat>();           // the -W/-R lines of one class share the points below them
        List<LockContentionPoint>? points = null, contending = null;
        int separators = 0, n = 0;
        Span<double> v = stackalloc double[Columns];
        Span<long> counts = stackalloc long[Columns];
        Span<TimeSpan> times = stackalloc TimeSpan[Columns];

        void Flush()
        {
            foreach (var s in group)
                result.Add(s with { ContentionPoints = points?.ToArray() ?? [], ContendingPoints = contending?.ToArray() ?? [] });
            group.Clear();
            points = contending = null;
            separators = 0;
        }

        foreach (var raw in text.EnumerateLines())
        {
            n++;
            var line = raw.Trim();
            if (line.IsEmpty) continue;
            if (line.StartsWith("lock_stat version"))
            {
                var ver = line["lock_stat version".Length..].Trim();
                if (!ver.SequenceEqual("0.4")) ctx.Warn(n, $"lock_stat version {ver} is not 0.4; columns are read as 0.4", line);
                continue;
            }
            if (line.StartsWith("class name")) continue;
            if (IsRule(line, '.')) { Flush(); continue; }
            if (IsRule(line, '-'))
            {
                if (group.Count == 0) continue; // the header's rules
                separators++;
                if (separators == 1) points = new(); else contending = new();
                continue;
            }
            if (TryStatLine(line, v, out var name))
            {
                if (!TryColumns(v, counts, times)) { ctx.Warn(n, "a count or time is past the range of its type", raw); continue; }
                if (separators > 0) Flush(); // a class without a dotted rule before it
                string? access = null;
                if (name.EndsWith("-W")) { access = "Write"; name = name[..^2]; }
                else if (name.EndsWith("-R")) { access = "Read"; name = name[..^2]; }
                group.Add(new LockStat
                {
                    Class = name.ToString(),
                    Access = access,
                    ContentionBounces = counts[0],
                    Contentions = counts[1],
                    WaitTimeMin = times[2], WaitTimeMax = times[3], WaitTimeTotal = times[4], WaitTimeAverage = times[5],
                    AcquisitionBounces = counts[6],
                    Acquisitions = counts[7],
                    HoldTimeMin = times[8], HoldTimeMax = times[9], HoldTimeTotal = times[10], HoldTimeAverage = times[11],
                });
                continue;
            }
            if (group.Count > 0 && separators > 0 && TryPoint(line, out var point, out string? problem))
            {
                (separators == 1 ? points : contending)!.Add(point);
                if (problem is not null) ctx.Warn(n, problem, raw);
                continue;
            }
            ctx.Warn(n, "not a lock_stat line", raw);
        }
        Flush();
        return result;
    }

    // Columns 0, 1, 6 and 7 are counts; the rest are times printed in microseconds with two decimals.
    private static bool TryColumns(ReadOnlySpan<double> v, Span<long> counts, Span<TimeSpan> times)
    {
        for (int i = 0; i < Columns; i++)
        {
            if (i is 0 or 1 or 6 or 7)
            {
                if (v[i] >= 9.2233720368547758E18 || v[i] != Math.Floor(v[i])) return false;
                counts[i] = (long)v[i];
            }
            else if (!Fields.TryMicroseconds(v[i], out times[i])) return false;
        }
        return true;
    }

    private static bool IsRule(ReadOnlySpan<char> line, char c) => line.Length >= 3 && line.TrimStart(c).IsEmpty;

    // "name:  n n n ..." — the name may contain ':' or spaces, so the 12 numbers are taken from the end.
    private static bool TryStatLine(ReadOnlySpan<char> line, Span<double> v, out ReadOnlySpan<char> name)
    {
        name = default;
        var rest = line;
        for (int i = Columns - 1; i >= 0; i--)
        {
            rest = rest.TrimEnd();
            int sp = rest.LastIndexOfAny(' ', '\t');
            if (sp < 0) return false;
            if (!Fields.TryDouble(rest[(sp + 1)..], out v[i]) || v[i] < 0 || double.IsInfinity(v[i])) return false;
            rest = rest[..sp];
        }
        rest = rest.TrimEnd();
        if (rest.Length < 2 || rest[^1] != ':') return false;
        name = rest[..^1].Trim();
        return !name.IsEmpty;
    }

    // "&mm->mmap_sem   96   [<ffffffff815351c4>] __do_page_fault+0x1d4/0x510"
    private static bool TryPoint(ReadOnlySpan<char> line, out LockContentionPoint point, out string? problem)
    {
        point = null!;
        problem = null;
        int open = line.IndexOf("[<");
        if (open < 0) return false;
        int close = line.IndexOf(">]");
        if (close < open) return false;
        var before = line[..open].TrimEnd();
        int sp = before.LastIndexOfAny(' ', '\t');
        if (sp < 0 || !Fields.TryLong(before[(sp + 1)..], out long count) || count < 0) return false;
        ulong? addr = Fields.TryHex(line[(open + 2)..close], out ulong a) ? a : null;
        var frame = StackFrame.TryParse(line[(close + 2)..]);
        if (addr is null) problem = "the address is not a 64-bit hex number";
        else if (frame is null && !line[(close + 2)..].IsWhiteSpace()) problem = "not a function+offset/size frame";
        point = new LockContentionPoint(count, frame is null ? null : frame with { Address = addr }, addr);
        return true;
    }
}
