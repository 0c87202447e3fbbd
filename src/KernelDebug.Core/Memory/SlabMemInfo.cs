using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Memory;

/// <summary>
/// TEMPORARY, local to the slab reader: picks the two slab lines (<c>SReclaimable</c>, <c>SUnreclaim</c>) out of
/// <c>/proc/meminfo</c> for <c>Get-SlabCache -Summary</c>. The shared MemInfo parser (Get-MemoryInfo) is built on
/// another branch; at merge this class is replaced by it. Do not use it elsewhere.
/// </summary>
internal static class SlabMemInfo
{
    /// <summary>The two values in bytes, null where meminfo or the line is missing.</summary>
    public static (long? Reclaimable, long? Unreclaimable) Read(KernelRoot root, ParseContext ctx)
    {
        string? text = root.TryReadText("proc/meminfo", 1 << 20);
        if (text is null) return (null, null);
        return Parse(text, ctx);
    }

    /// <summary>Parses the two lines ("SReclaimable:   82964 kB").</summary>
    public static (long? Reclaimable, long? Unreclaimable) Parse(ReadOnlySpan<char> text, ParseContext ctx)
    {
        long? rec = null, unrec = null;
        int n = 0;
        foreach (var line in text.EnumerateLines())
        {
            n++;
            bool isRec = line.StartsWith("SReclaimable:"), isUnrec = line.StartsWith("SUnreclaim:");
            if (!isRec && !isUnrec) continue;
            var f = Fields.Split(line[(line.IndexOf(':') + 1)..]);
            var num = f.Next();
            var unit = f.Next();
            if (!Fields.TryLong(num, out long v) || !(unit.IsEmpty || unit.SequenceEqual("kB"))) { ctx.Warn(n, "expected a number of kB", line); continue; }
            long bytes = unit.IsEmpty ? v : v * 1024;
            if (isRec) rec = bytes; else unrec = bytes;
        }
        return (rec, unrec);
    }
}
