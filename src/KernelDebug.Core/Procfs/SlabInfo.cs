using KernelDebug.Core.Errors;
using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Procfs;

/// <summary>
/// One slab cache: the numbers of <c>/proc/slabinfo</c>, joined with <c>/sys/kernel/slab/&lt;cache&gt;/</c> where the
/// kernel (SLUB) has it. Sizes are bytes.
/// </summary>
public sealed record SlabCache
{
    /// <summary>Cache name as <c>/proc/slabinfo</c> prints it (for a merged cache, the name of its first user).</summary>
    public required string Name { get; init; }
    /// <summary>Objects in use (SLUB counts free objects of per-CPU slabs as active, like slabtop).</summary>
    public long ActiveObjects { get; init; }
    /// <summary>Objects the cache's slabs hold, used or free.</summary>
    public long TotalObjects { get; init; }
    /// <summary>Bytes one object takes in a slab, metadata and alignment included.</summary>
    public long ObjectSize { get; init; }
    /// <summary>Objects per slab.</summary>
    public int ObjectsPerSlab { get; init; }
    /// <summary>Pages per slab.</summary>
    public int PagesPerSlab { get; init; }
    /// <summary>Slabs holding at least one object in use.</summary>
    public long ActiveSlabs { get; init; }
    /// <summary>Slabs the cache holds.</summary>
    public long Slabs { get; init; }
    /// <summary>Memory the cache holds: slabs × pages per slab × page size, as slabtop computes CACHE SIZE.</summary>
    public long TotalBytes { get; init; }
    /// <summary>Memory in objects in use: active objects × object size.</summary>
    public long ActiveBytes { get; init; }
    /// <summary>Active objects as a percentage of all objects (0 for an empty cache).</summary>
    public double UsedPercent { get; init; }
    /// <summary>Whether the kernel may reclaim the cache under memory pressure (SLAB_RECLAIM_ACCOUNT); null without sysfs.</summary>
    public bool? Reclaimable { get; init; }
    /// <summary>The other names this cache serves: SLUB merges caches of compatible size and flags.</summary>
    public IReadOnlyList<string> Aliases { get; init => field = Flat.List(value, ","); } = FlatList<string>.Empty;
    /// <summary>The object size its creator asked for (sysfs <c>object_size</c>), before metadata and alignment.</summary>
    public long? RequestedObjectSize { get; init; }
    /// <summary>Page allocation order of one slab (sysfs <c>order</c>).</summary>
    public int? SlabOrder { get; init; }
    /// <summary>Slabs on the per-node partial lists (sysfs <c>partial</c>).</summary>
    public long? PartialSlabs { get; init; }
    /// <summary>Slabs held by CPUs (sysfs <c>cpu_slabs</c>).</summary>
    public long? CpuSlabs { get; init; }
    /// <summary>The cache's SLAB_* flags that sysfs shows (SLAB_HWCACHE_ALIGN, SLAB_TYPESAFE_BY_RCU, ...).</summary>
    public IReadOnlyList<string> Flags { get; init => field = Flat.List(value, ","); } = FlatList<string>.Empty;
    /// <summary>When the numbers were read.</summary>
    public DateTimeOffset Timestamp { get; init; }
}

/// <summary>Parses <c>/proc/slabinfo</c> (format 2.1, as SLUB and SLAB print it).</summary>
public static class SlabInfoParser
{
    /// <summary>The format this parser knows.</summary>
    public const string KnownVersion = "2.1";

    /// <summary>
    /// Returns one <see cref="SlabCache"/> per well-formed line. A different version header, or a line with missing
    /// or non-numeric fields, is reported through <paramref name="ctx"/> and skipped.
    /// </summary>
    /// <param name="text">The file's text.</param>
    /// <param name="pageSize">Page size of the machine the text came from, for <see cref="SlabCache.TotalBytes"/>.</param>
    /// <param name="ctx">Collects issues.</param>
    /// <param name="timestamp">When the text was read.</param>
    public static IReadOnlyList<SlabCache> Parse(ReadOnlySpan<char> text, int pageSize, ParseContext ctx, DateTimeOffset timestamp = default)
    {
        var result = new List<SlabCache>();
        int n = 0;
        Span<long> v = stackalloc long[13];
        foreach (var line in text.EnumerateLines())
        {
            n++;
            if (line.IsWhiteSpace() || line.StartsWith("#")) continue;
            if (line.StartsWith("slabinfo - version:"))
            {
                var ver = line["slabinfo - version:".Length..].Trim();
                if (!ver.SequenceEqual(KnownVersion)) ctx.Warn(n, $"slabinfo version {ver} is not {KnownVersion}; fields are read as {KnownVersion}", line);
                continue;
            }
            // name active num objsize objperslab pagesperslab : tunables l b s : slabdata active_slabs num_slabs shared
            var f = Fields.Split(line);
            var name = f.Next();
            int count = 0;
            bool ok = !name.IsEmpty;
            while (ok && f.MoveNext())
            {
                var cur = f.Current;
                if (cur.SequenceEqual(":") || cur.SequenceEqual("tunables") || cur.SequenceEqual("slabdata")) continue;
                if (count >= v.Length || !Fields.TryLong(cur, out v[count]) || v[count] < 0) { ok = false; break; }
                count++;
            }
            // Without tunables (SLAB off) there are 5 + 3 numbers; with them 5 + 3 + 3.
            if (!ok || (count != 11 && count != 8)) { ctx.Warn(n, "expected name and 11 numbers (active, total, size, per slab, pages, tunables, slab data)", line); continue; }
            long activeSlabs = count == 11 ? v[8] : v[5], slabs = count == 11 ? v[9] : v[6];
            long active = v[0], total = v[1], size = v[2];
            if (v[3] > int.MaxValue || v[4] > int.MaxValue || !Fields.TryScale(slabs, v[4], out long slabPages)
                || !Fields.TryScale(slabPages, pageSize, out long totalBytes) || !Fields.TryScale(active, size, out long activeBytes))
            { ctx.Warn(n, "a count or size is past the range of its type", line); continue; }
            result.Add(new SlabCache
            {
                Name = name.ToString(),
                ActiveObjects = active,
                TotalObjects = total,
                ObjectSize = size,
                ObjectsPerSlab = (int)v[3],
                PagesPerSlab = (int)v[4],
                ActiveSlabs = activeSlabs,
                Slabs = slabs,
                TotalBytes = totalBytes,
                ActiveBytes = activeBytes,
                UsedPercent = total == 0 ? 0 : Math.Round(100.0 * active / total, 1),
                Timestamp = timestamp,
            });
        }
        return result;
    }
}

/// <summary>Slab use over the whole kernel: slabtop's header, with the reclaimable split from meminfo.</summary>
public sealed record SlabSummary
{
    /// <summary>Caches listed.</summary>
    public int CacheCount { get; init; }
    /// <summary>Caches with at least one object in use.</summary>
    public int ActiveCacheCount { get; init; }
    /// <summary>Objects in use over all caches.</summary>
    public long ActiveObjects { get; init; }
    /// <summary>Objects over all caches.</summary>
    public long TotalObjects { get; init; }
    /// <summary>Memory of all slabs, summed from slabinfo.</summary>
    public long TotalBytes { get; init; }
    /// <summary>Memory in objects in use, summed from slabinfo.</summary>
    public long ActiveBytes { get; init; }
    /// <summary>Slab memory the kernel may reclaim (meminfo <c>SReclaimable</c>); null when meminfo lacks it.</summary>
    public long? ReclaimableBytes { get; init; }
    /// <summary>Slab memory the kernel cannot reclaim (meminfo <c>SUnreclaim</c>): the figure a slab leak grows.</summary>
    public long? UnreclaimableBytes { get; init; }
    /// <summary>The largest cache by <see cref="SlabCache.TotalBytes"/>.</summary>
    public string? LargestCache { get; init; }
    /// <summary>When the numbers were read.</summary>
    public DateTimeOffset Timestamp { get; init; }

    /// <summary>Sums parsed caches and adds the meminfo split.</summary>
    public static SlabSummary From(IReadOnlyList<SlabCache> caches, long? reclaimable, long? unreclaimable, DateTimeOffset timestamp) => new()
    {
        CacheCount = caches.Count,
        ActiveCacheCount = caches.Count(c => c.ActiveObjects > 0),
        ActiveObjects = Fields.SumSaturating(caches, c => c.ActiveObjects),
        TotalObjects = Fields.SumSaturating(caches, c => c.TotalObjects),
        TotalBytes = Fields.SumSaturating(caches, c => c.TotalBytes),
        ActiveBytes = Fields.SumSaturating(caches, c => c.ActiveBytes),
        ReclaimableBytes = reclaimable,
        UnreclaimableBytes = unreclaimable,
        LargestCache = caches.MaxBy(c => c.TotalBytes)?.Name,
        Timestamp = timestamp,
    };
}

/// <summary>How one slab cache changed between two samples: the reading that catches a slab leak while it happens.</summary>
public sealed record SlabCacheGrowth
{
    /// <summary>Cache name.</summary>
    public required string Name { get; init; }
    /// <summary>Time between the two samples.</summary>
    public TimeSpan Interval { get; init; }
    /// <summary>Change of <see cref="SlabCache.ActiveObjects"/>.</summary>
    public long ObjectsDelta { get; init; }
    /// <summary>Change of <see cref="SlabCache.TotalObjects"/>.</summary>
    public long TotalObjectsDelta { get; init; }
    /// <summary>Change of <see cref="SlabCache.TotalBytes"/> (the cache's memory).</summary>
    public long BytesDelta { get; init; }
    /// <summary>Active objects gained per second (negative when freed).</summary>
    public double ObjectsPerSecond { get; init; }
    /// <summary>Cache memory gained per second (negative when shrunk).</summary>
    public double BytesPerSecond { get; init; }
    /// <summary>Active objects at the second sample.</summary>
    public long ActiveObjects { get; init; }
    /// <summary>Cache memory at the second sample.</summary>
    public long TotalBytes { get; init; }
    /// <summary>Time of the second sample.</summary>
    public DateTimeOffset Timestamp { get; init; }

    /// <summary>
    /// The caches that changed from <paramref name="before"/> to <paramref name="after"/> (a new cache counts from zero),
    /// largest memory growth first.
    /// </summary>
    public static IReadOnlyList<SlabCacheGrowth> Between(IReadOnlyList<SlabCache> before, IReadOnlyList<SlabCache> after)
    {
        var old = new Dictionary<string, SlabCache>(StringComparer.Ordinal);
        foreach (var c in before) old.TryAdd(c.Name, c);
        var result = new List<SlabCacheGrowth>();
        foreach (var c in after)
        {
            old.TryGetValue(c.Name, out var p);
            long dObj = c.ActiveObjects - (p?.ActiveObjects ?? 0);
            long dTot = c.TotalObjects - (p?.TotalObjects ?? 0);
            long dBytes = c.TotalBytes - (p?.TotalBytes ?? 0);
            if (dObj == 0 && dTot == 0 && dBytes == 0) continue;
            var interval = p is null ? TimeSpan.Zero : c.Timestamp - p.Timestamp;
            double secs = interval.TotalSeconds;
            result.Add(new SlabCacheGrowth
            {
                Name = c.Name,
                Interval = interval,
                ObjectsDelta = dObj,
                TotalObjectsDelta = dTot,
                BytesDelta = dBytes,
                ObjectsPerSecond = secs > 0 ? dObj / secs : 0,
                BytesPerSecond = secs > 0 ? dBytes / secs : 0,
                ActiveObjects = c.ActiveObjects,
                TotalBytes = c.TotalBytes,
                Timestamp = c.Timestamp,
            });
        }
        result.Sort((a, b) => b.BytesDelta.CompareTo(a.BytesDelta) is var d && d != 0 ? d : b.ObjectsDelta.CompareTo(a.ObjectsDelta));
        return result;
    }
}
