using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Profiling;

/// <summary>
/// One line of Brendan Gregg's folded stack format: frames from the root to the leaf joined by <c>;</c>, then a count
/// (<c>bash;entry_SYSCALL_64;do_syscall_64;__x64_sys_read 12</c>). The input of flame graphs.
/// </summary>
public sealed record FoldedStack(IReadOnlyList<string> Frames, long Count)
{
    /// <summary>Frames from the root to the leaf (prints as a;b;c).</summary>
    public IReadOnlyList<string> Frames { get; init => field = Flat.List(value); } = Flat.List(Frames);

    /// <summary>The stack as folded text without the count.</summary>
    public string Stack => string.Join(';', Frames);

    /// <summary>The folded line.</summary>
    public override string ToString() => $"{Stack} {Count}";

    /// <summary>
    /// Makes a folded stack from frames as kernels print them (leaf first), optionally under a process name as the root.
    /// Semicolons and blanks in names are replaced, since they delimit the format.
    /// </summary>
    public static FoldedStack FromLeafFirst(IEnumerable<string> leafFirst, long count, string? root = null)
    {
        var frames = leafFirst.Select(Clean).Reverse().ToList();
        if (!string.IsNullOrEmpty(root)) frames.Insert(0, Clean(root));
        return new FoldedStack(frames, count);
    }

    private static string Clean(string s) => s.Replace(';', ':').Replace(' ', '_');
}

/// <summary>Parses and merges folded stack text.</summary>
public static class FoldedStackParser
{
    /// <summary>Parses folded lines; a line without a trailing count is an issue, the rest is still read.</summary>
    public static IEnumerable<FoldedStack> Parse(TextReader reader, ParseContext ctx)
    {
        int n = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            n++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            if (TryParseLine(line, out var stack)) yield return stack!;
            else ctx.Warn(n, "expected 'frame;frame;... count'", line);
        }
    }

    /// <summary>Parses one folded line.</summary>
    public static bool TryParseLine(string line, out FoldedStack? stack)
    {
        stack = null;
        var t = line.AsSpan().TrimEnd();
        int space = t.LastIndexOf(' ');
        if (space <= 0 || !Fields.TryLong(t[(space + 1)..], out long count) || count < 0) return false;
        var frames = t[..space].ToString().Split(';', StringSplitOptions.RemoveEmptyEntries);
        if (frames.Length == 0) return false;
        stack = new FoldedStack(frames, count);
        return true;
    }

    /// <summary>Adds up the counts of identical stacks.</summary>
    public static IReadOnlyList<FoldedStack> Merge(IEnumerable<FoldedStack> stacks) =>
        stacks.GroupBy(s => s.Stack).Select(g => new FoldedStack(g.First().Frames, Fields.SumSaturating(g, s => s.Count)))
              .OrderBy(s => s.Stack, StringComparer.Ordinal).ToList();
}
