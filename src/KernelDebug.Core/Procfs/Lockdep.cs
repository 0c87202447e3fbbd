using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Procfs;

/// <summary>One lock class lockdep knows, from <c>/proc/lockdep</c> (CONFIG_LOCKDEP).</summary>
public sealed record LockdepClass
{
    /// <summary>The class key (a hashed pointer).</summary>
    public required string Key { get; init; }
    /// <summary>Class name as lockdep prints it (<c>&amp;rq-&gt;__lock</c>, <c>(wq_completion)events</c>, <c>name#2</c>, <c>name/1</c>).</summary>
    public required string Name { get; init; }
    /// <summary>Lock operations on the class (CONFIG_DEBUG_LOCKDEP only).</summary>
    public long? Operations { get; init; }
    /// <summary>Classes taken after this one, directly or not (FD; CONFIG_PROVE_LOCKING).</summary>
    public long? ForwardDependencies { get; init; }
    /// <summary>Classes taken before this one (BD; CONFIG_PROVE_LOCKING).</summary>
    public long? BackwardDependencies { get; init; }
    /// <summary>Usage in IRQ contexts, four characters (hardirq, hardirq-read, softirq, softirq-read): '.', '-', '+', '?' as in lockdep-design.rst.</summary>
    public string? Usage { get; init; }
    /// <summary>The classes taken directly after this one (" -&gt; [key] name" lines).</summary>
    public IReadOnlyList<string> DirectDependencies { get; init => field = Flat.List(value, ","); } = FlatList<string>.Empty;
}

/// <summary>One line of <c>/proc/lockdep_stats</c> ("lock-classes:  1616 [max: 8192]").</summary>
/// <param name="Name">Statistic name.</param>
/// <param name="Value">Its value.</param>
/// <param name="Maximum">The compiled-in limit, when printed: a value at its maximum turns lockdep off.</param>
public sealed record LockdepStatistic(string Name, long Value, long? Maximum)
{
    /// <summary>Value as a percentage of the maximum, when there is one.</summary>
    public double? UsedPercent => Maximum is > 0 ? Math.Round(100.0 * Value / Maximum.Value, 1) : null;
}

/// <summary>Parses <c>/proc/lockdep</c> and <c>/proc/lockdep_stats</c>.</summary>
public static class LockdepParser
{
    /// <summary>The lock classes; malformed lines go to <paramref name="ctx"/>.</summary>
    public static IReadOnlyList<LockdepClass> ParseClasses(ReadOnlySpan<char> text, ParseContext ctx)
    {
        var result = new List<LockdepClass>();
        LockdepClass? current = null;
        List<string> deps = new();
        int n = 0;
        void Flush()
        {
            if (current is not null) result.Add(current with { DirectDependencies = deps.ToArray() });
            current = null;
            deps.Clear();
        }
        foreach (var raw in text.EnumerateLines())
        {
            n++;
            if (raw.IsWhiteSpace()) continue;
            if (raw.StartsWith("all lock classes")) continue;
            var line = raw.Trim();
            if (line.StartsWith("->"))
            {
                // " -> [key] name"
                int close = line.IndexOf(']');
                if (current is null || !line.Contains('[') || close < 0 || line[(close + 1)..].Trim().IsEmpty) { ctx.Warn(n, "dependency line outside a class", raw); continue; }
                deps.Add(line[(close + 1)..].Trim().ToString());
                continue;
            }
            Flush();
            // "key [OPS: n] [FD: n BD: n usage]: name"
            int colon = IndexOfNameColon(line);
            if (colon < 0) { ctx.Warn(n, "expected 'key ...: name'", raw); continue; }
            var head = line[..colon];
            var name = line[(colon + 1)..].Trim();
            var f = Fields.Split(head);
            var key = f.Next();
            if (key.IsEmpty || !Fields.TryHex(key, out _) || name.IsEmpty) { ctx.Warn(n, "expected a class key and name", raw); continue; }
            long? ops = null, fd = null, bd = null;
            string? usage = null;
            bool ok = true;
            while (ok && f.MoveNext())
            {
                var t = f.Current;
                if (t.SequenceEqual("OPS:")) ok = TakeNumber(ref f, out ops);
                else if (t.SequenceEqual("FD:")) ok = TakeNumber(ref f, out fd);
                else if (t.SequenceEqual("BD:")) ok = TakeNumber(ref f, out bd);
                else if (t.Length == 4 && IsUsage(t)) usage = t.ToString();
                else ok = false;
            }
            if (!ok) { ctx.Warn(n, "unexpected field in lock class line", raw); continue; }
            current = new LockdepClass { Key = key.ToString(), Name = name.ToString(), Operations = ops, ForwardDependencies = fd, BackwardDependencies = bd, Usage = usage };
        }
        Flush();
        return result;
    }

    /// <summary>The statistics; malformed lines go to <paramref name="ctx"/>.</summary>
    public static IReadOnlyList<LockdepStatistic> ParseStatistics(ReadOnlySpan<char> text, ParseContext ctx)
    {
        var result = new List<LockdepStatistic>();
        int n = 0;
        foreach (var raw in text.EnumerateLines())
        {
            n++;
            if (raw.IsWhiteSpace()) continue;
            int colon = raw.IndexOf(':');
            if (colon <= 0) { ctx.Warn(n, "expected 'name: value'", raw); continue; }
            var name = raw[..colon].Trim();
            var rest = raw[(colon + 1)..].Trim();
            long? max = null;
            int br = rest.IndexOf('[');
            if (br >= 0)
            {
                var m = rest[br..].Trim("[] ");
                if (m.StartsWith("max:") && Fields.TryLong(m[4..].Trim(), out long mx)) max = mx;
                else { ctx.Warn(n, "unexpected [max: N] part", raw); continue; }
                rest = rest[..br].Trim();
            }
            if (!Fields.TryLong(rest, out long value) || name.IsEmpty) { ctx.Warn(n, "expected a number", raw); continue; }
            result.Add(new LockdepStatistic(name.ToString(), value, max));
        }
        return result;
    }

    private static bool TakeNumber(ref Fields.FieldEnumerator f, out long? value)
    {
        value = null;
        if (!f.MoveNext() || !Fields.TryLong(f.Current, out long v)) return false;
        value = v;
        return true;
    }

    private static bool IsUsage(ReadOnlySpan<char> s)
    {
        foreach (char c in s) if (c is not ('.' or '-' or '+' or '?')) return false;
        return true;
    }

    // The colon that ends the head: the first ": " after the key, skipping "OPS:", "FD:", "BD:".
    private static int IndexOfNameColon(ReadOnlySpan<char> line)
    {
        for (int i = 0; i < line.Length; i++)
        {
            if (line[i] != ':') continue;
            if (i >= 3 && line[(i - 3)..i].SequenceEqual("OPS")) continue;
            if (i >= 2 && (line[(i - 2)..i].SequenceEqual("FD") || line[(i - 2)..i].SequenceEqual("BD"))) continue;
            return i;
        }
        return -1;
    }
}
