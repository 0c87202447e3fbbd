using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Procfs;

/// <summary>One line of <c>/proc/buddyinfo</c>: free blocks of each order in one zone of one node.</summary>
/// <param name="Node">NUMA node.</param>
/// <param name="Zone">Zone name (DMA, DMA32, Normal, Movable).</param>
/// <param name="FreeBlocks">Free blocks per order: index N counts blocks of 2^N pages.</param>
public sealed record BuddyZone(int Node, string Zone, IReadOnlyList<long> FreeBlocks);

/// <summary>Parses <c>/proc/buddyinfo</c> ("Node 0, zone   Normal   602 362 ...").</summary>
public static class BuddyInfoParser
{
    /// <summary>Every well-formed line; bad lines go to <paramref name="ctx"/>.</summary>
    public static IReadOnlyList<BuddyZone> Parse(ReadOnlySpan<char> text, ParseContext ctx)
    {
        var result = new List<BuddyZone>();
        int n = 0;
        foreach (var line in text.EnumerateLines())
        {
            n++;
            if (line.IsWhiteSpace()) continue;
            var f = Fields.Split(line);
            if (!f.Next().SequenceEqual("Node")) { ctx.Warn(n, "expected 'Node N, zone NAME counts...'", line); continue; }
            var node = f.Next();
            if (node.EndsWith(",")) node = node[..^1];
            if (!int.TryParse(node, out int nodeId) || nodeId < 0 || !f.Next().SequenceEqual("zone")) { ctx.Warn(n, "expected 'Node N, zone NAME'", line); continue; }
            var zone = f.Next();
            var blocks = new List<long>(11);
            bool ok = !zone.IsEmpty;
            while (ok && f.MoveNext())
            {
                if (Fields.TryLong(f.Current, out long b) && b >= 0) blocks.Add(b); else ok = false;
            }
            if (!ok || blocks.Count == 0 || blocks.Count > 64) { ctx.Warn(n, "expected free block counts per order", line); continue; }
            // Every zone has the same orders (0..MAX_PAGE_ORDER); a shorter line was cut.
            if (result.Count > 0 && blocks.Count != result[0].FreeBlocks.Count) { ctx.Warn(n, $"expected {result[0].FreeBlocks.Count} orders, found {blocks.Count}", line); continue; }
            result.Add(new BuddyZone(nodeId, zone.ToString(), blocks));
        }
        return result;
    }
}

/// <summary>
/// How fragmented a zone's free memory is for allocations of one order: what <c>Get-MemoryFragmentation</c> shows.
/// The indexes are the kernel's own (mm/vmstat.c, shown in debugfs <c>extfrag/</c>), computed from buddyinfo.
/// </summary>
public sealed record MemoryFragmentation
{
    /// <summary>NUMA node.</summary>
    public int Node { get; init; }
    /// <summary>Zone name.</summary>
    public required string Zone { get; init; }
    /// <summary>The allocation order the indexes are for (9 = 2 MiB huge pages with 4 KiB pages).</summary>
    public int Order { get; init; }
    /// <summary>Free blocks per order.</summary>
    public IReadOnlyList<long> FreeBlocks { get; init => field = Flat.List(value); } = FlatList<long>.Empty;
    /// <summary>Free pages in the zone.</summary>
    public long FreePages { get; init; }
    /// <summary>Free memory in the zone.</summary>
    public long FreeBytes { get; init; }
    /// <summary>The largest order with a free block, or -1 when the zone has none.</summary>
    public int LargestFreeOrder { get; init; }
    /// <summary>Size of the largest free block.</summary>
    public long LargestFreeBlockBytes { get; init; }
    /// <summary>Blocks of <see cref="Order"/> the free memory could serve right now.</summary>
    public long SuitableBlocks { get; init; }
    /// <summary>
    /// Share of free memory unusable for an allocation of <see cref="Order"/>, 0 to 100 (the kernel's unusable free
    /// space index × 100): high means the memory is free but in pieces too small.
    /// </summary>
    public double FragmentationPercent { get; init; }
    /// <summary>
    /// The kernel's external fragmentation index for <see cref="Order"/> (0 to 1): toward 1 an allocation would fail
    /// for fragmentation, toward 0 for lack of memory; null when it would succeed now.
    /// </summary>
    public double? ExternalFragmentationIndex { get; init; }
    /// <summary>The unusable free space index (0 to 1) for every order.</summary>
    public IReadOnlyList<double> UnusableIndexByOrder { get; init => field = Flat.List(value); } = FlatList<double>.Empty;

    /// <summary>The fragmentation of a zone for allocations of <paramref name="order"/>.</summary>
    public static MemoryFragmentation From(BuddyZone zone, int order, int pageSize)
    {
        var b = zone.FreeBlocks;
        long freePages = 0, totalBlocks = 0;
        int largest = -1;
        for (int o = 0; o < b.Count; o++)
        {
            freePages += b[o] << o;
            totalBlocks += b[o];
            if (b[o] > 0) largest = o;
        }
        var unusable = new double[b.Count];
        for (int o = 0; o < b.Count; o++) unusable[o] = Unusable(b, o, freePages);
        long suitable = Suitable(b, order);
        double? extfrag = null;
        if (suitable == 0 && totalBlocks > 0)
            extfrag = Math.Max(0, 1000 - (1000 + freePages * 1000 / (1L << order)) / totalBlocks) / 1000.0; // integer steps as mm/vmstat.c
        return new MemoryFragmentation
        {
            Node = zone.Node,
            Zone = zone.Zone,
            Order = order,
            FreeBlocks = b,
            FreePages = freePages,
            FreeBytes = freePages * pageSize,
            LargestFreeOrder = largest,
            LargestFreeBlockBytes = largest < 0 ? 0 : (1L << largest) * pageSize,
            SuitableBlocks = suitable,
            FragmentationPercent = Math.Round(100 * (order < b.Count ? unusable[order] : (freePages == 0 ? 0 : 1)), 1),
            ExternalFragmentationIndex = extfrag,
            UnusableIndexByOrder = unusable,
        };
    }

    private static long Suitable(IReadOnlyList<long> b, int order)
    {
        long s = 0;
        for (int o = order; o < b.Count; o++) s += b[o] << (o - order);
        return s;
    }

    private static double Unusable(IReadOnlyList<long> b, int order, long freePages) =>
        freePages == 0 ? 0 : (double)(freePages - (Suitable(b, order) << order)) / freePages;
}
