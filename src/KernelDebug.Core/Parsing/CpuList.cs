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

    /// <summary>
    /// The online CPUs of a root (<c>/sys/devices/system/cpu/online</c>); on the live machine without that file, this
    /// process's view; otherwise empty.
    /// </summary>
    public static IReadOnlyList<int> Online(KernelRoot root)
    {
        if (root.TryReadValue("sys/devices/system/cpu/online") is { } text && Parse(text, new ParseContext("sys/devices/system/cpu/online")) is { Count: > 0 } list)
            return list;
        return root.IsLive ? Enumerable.Range(0, Environment.ProcessorCount).ToArray() : [];
    }
}
