namespace KernelDebug.Core.Parsing;

/// <summary>Parses the kernel's list format for CPUs and nodes ("0-3,8,10-11"), as in <c>/sys/devices/system/cpu/online</c>.</summary>
public static class CpuList
{
    /// <summary>Returns the numbers in the list, ascending; malformed parts are skipped and reported through <paramref name="ctx"/>.</summary>
    public static IReadOnlyList<int> Parse(ReadOnlySpan<char> text, ParseContext? ctx = null)
    {
        var result = new List<int>();
        foreach (var range in text.Trim().Split(','))
        {
            var part = text.Trim()[range].Trim();
            if (part.IsEmpty) continue;
            int dash = part.IndexOf('-');
            if (dash < 0)
            {
                if (int.TryParse(part, out int n) && n >= 0) result.Add(n);
                else ctx?.Warn(1, "not a CPU number", part);
                continue;
            }
            if (int.TryParse(part[..dash], out int lo) && int.TryParse(part[(dash + 1)..], out int hi) && lo >= 0 && hi >= lo && hi - lo < 1 << 20)
                for (int i = lo; i <= hi; i++) result.Add(i);
            else ctx?.Warn(1, "not a CPU range", part);
        }
        result.Sort();
        return result;
    }
}
