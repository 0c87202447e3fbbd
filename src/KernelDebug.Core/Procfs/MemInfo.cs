using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Procfs;

/// <summary>
/// The memory counters of <c>/proc/meminfo</c> (or one NUMA node's <c>meminfo</c>) in bytes. Fields the kernel
/// does not print are null. <see cref="Values"/> holds every line, known or not.
/// </summary>
public sealed record MemoryInfo
{
    /// <summary>The NUMA node, or null for the whole machine.</summary>
    public int? Node { get; init; }
    /// <summary>Usable RAM.</summary>
    public long? MemTotal { get; init; }
    /// <summary>RAM not used at all.</summary>
    public long? MemFree { get; init; }
    /// <summary>The kernel's estimate of memory available for new work without swapping. Per-node files lack it.</summary>
    public long? MemAvailable { get; init; }
    /// <summary>MemTotal − MemAvailable, as <c>free</c> computes "used" (per node: MemTotal − MemFree − FilePages − SReclaimable).</summary>
    public long? Used { get; init; }
    /// <summary><see cref="Used"/> as a percentage of MemTotal.</summary>
    public double? UsedPercent { get; init; }
    /// <summary>Block device buffers.</summary>
    public long? Buffers { get; init; }
    /// <summary>Page cache (without swap cache).</summary>
    public long? Cached { get; init; }
    /// <summary>Swapped-out memory also still in RAM.</summary>
    public long? SwapCached { get; init; }
    /// <summary>Recently used memory.</summary>
    public long? Active { get; init; }
    /// <summary>Less recently used memory, reclaim candidates.</summary>
    public long? Inactive { get; init; }
    /// <summary>Swap space.</summary>
    public long? SwapTotal { get; init; }
    /// <summary>Unused swap space.</summary>
    public long? SwapFree { get; init; }
    /// <summary>Waiting to be written back.</summary>
    public long? Dirty { get; init; }
    /// <summary>Being written back.</summary>
    public long? Writeback { get; init; }
    /// <summary>Anonymous (non file-backed) pages mapped into page tables.</summary>
    public long? AnonPages { get; init; }
    /// <summary>Files mapped into memory.</summary>
    public long? Mapped { get; init; }
    /// <summary>Shared memory and tmpfs.</summary>
    public long? Shmem { get; init; }
    /// <summary>Kernel slab allocator total.</summary>
    public long? Slab { get; init; }
    /// <summary>Slab that can be reclaimed (caches such as dentries and inodes).</summary>
    public long? SlabReclaimable { get; init; }
    /// <summary>Slab that cannot be reclaimed under pressure.</summary>
    public long? SlabUnreclaimable { get; init; }
    /// <summary>Kernel stacks.</summary>
    public long? KernelStack { get; init; }
    /// <summary>Page tables.</summary>
    public long? PageTables { get; init; }
    /// <summary>Per-CPU allocator.</summary>
    public long? Percpu { get; init; }
    /// <summary>vmalloc space in use.</summary>
    public long? VmallocUsed { get; init; }
    /// <summary>Memory committed to processes (may exceed RAM).</summary>
    public long? CommittedAs { get; init; }
    /// <summary>The commit limit under strict overcommit.</summary>
    public long? CommitLimit { get; init; }
    /// <summary>Transparent huge pages backing anonymous memory.</summary>
    public long? AnonHugePages { get; init; }
    /// <summary>Number of huge pages in the pool (a count, not bytes).</summary>
    public long? HugePagesTotal { get; init; }
    /// <summary>Number of unused huge pages in the pool.</summary>
    public long? HugePagesFree { get; init; }
    /// <summary>Huge pages reserved but not yet faulted in.</summary>
    public long? HugePagesReserved { get; init; }
    /// <summary>Surplus huge pages above the pool size.</summary>
    public long? HugePagesSurplus { get; init; }
    /// <summary>Size of one default huge page in bytes.</summary>
    public long? HugePageSize { get; init; }
    /// <summary>Memory in hugetlbfs pools of all sizes.</summary>
    public long? HugetlbBytes { get; init; }
    /// <summary>Hardware-poisoned memory.</summary>
    public long? HardwareCorrupted { get; init; }
    /// <summary>Every line: name → bytes (or a count for the HugePages_ lines).</summary>
    public IReadOnlyDictionary<string, long> Values { get; init => field = Flat.Map(value); } = FlatMap<string, long>.Empty;
}

/// <summary>Parses <c>/proc/meminfo</c> and <c>/sys/devices/system/node/nodeN/meminfo</c>.</summary>
public static class MemInfoParser
{
    /// <summary>
    /// Parses "Name: value kB" lines (per-node files prefix "Node N "). Values with a kB unit become bytes;
    /// unitless ones (HugePages_Total) stay counts. Bad lines go to <paramref name="ctx"/>.
    /// </summary>
    public static MemoryInfo Parse(ReadOnlySpan<char> text, ParseContext ctx, int? node = null)
    {
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        int n = 0;
        foreach (var raw in text.EnumerateLines())
        {
            n++;
            var line = raw.Trim();
            if (line.IsEmpty) continue;
            if (line.StartsWith("Node "))
            {
                // "Node 0 MemTotal:  123 kB"
                var f0 = Fields.Split(line);
                f0.Next(); f0.Next();
                int rest = line.IndexOf(f0.Next());
                if (rest < 0) { ctx.Warn(n, "expected 'Node N name: value'", line); continue; }
                line = line[rest..];
            }
            int colon = line.IndexOf(':');
            if (colon <= 0) { ctx.Warn(n, "expected 'name: value [kB]'", line); continue; }
            string name = line[..colon].Trim().ToString();
            var f = Fields.Split(line[(colon + 1)..]);
            var num = f.Next();
            var unit = f.Next();
            if (!Fields.TryLong(num, out long v) || f.MoveNext())
            {
                ctx.Warn(n, $"value of {name} is not a number", line);
                continue;
            }
            if (unit.IsEmpty) values[name] = v;
            else if (!unit.Equals("kB", StringComparison.OrdinalIgnoreCase)) ctx.Warn(n, $"unit of {name} is not kB", line);
            else if (Fields.TryScale(v, 1024, out long bytes)) values[name] = bytes;
            else ctx.Warn(n, $"{name} in bytes is past the range of a byte count", line);
        }
        return Build(values, node, ctx);
    }

    private static MemoryInfo Build(Dictionary<string, long> v, int? node, ParseContext ctx)
    {
        long? G(string k) => v.TryGetValue(k, out long x) ? x : null;
        long? total = G("MemTotal"), avail = G("MemAvailable");
        if (total is null && v.Count > 0) ctx.Warn(0, "no MemTotal line");
        long? used = null;
        if (total is long t)
        {
            if (avail is long a) used = t - a;
            else if (node is not null && G("MemFree") is long free)
                used = t - free - (G("FilePages") ?? 0) - (G("SReclaimable") ?? 0);
        }
        return new MemoryInfo
        {
            Node = node,
            MemTotal = total,
            MemFree = G("MemFree"),
            MemAvailable = avail,
            Used = used,
            UsedPercent = used is long u && total is > 0 ? Math.Round(100.0 * u / total.Value, 2) : null,
            Buffers = G("Buffers"),
            Cached = G("Cached") ?? G("FilePages"),
            SwapCached = G("SwapCached"),
            Active = G("Active"),
            Inactive = G("Inactive"),
            SwapTotal = G("SwapTotal"),
            SwapFree = G("SwapFree"),
            Dirty = G("Dirty"),
            Writeback = G("Writeback"),
            AnonPages = G("AnonPages"),
            Mapped = G("Mapped"),
            Shmem = G("Shmem"),
            Slab = G("Slab"),
            SlabReclaimable = G("SReclaimable"),
            SlabUnreclaimable = G("SUnreclaim"),
            KernelStack = G("KernelStack"),
            PageTables = G("PageTables"),
            Percpu = G("Percpu"),
            VmallocUsed = G("VmallocUsed"),
            CommittedAs = G("Committed_AS"),
            CommitLimit = G("CommitLimit"),
            AnonHugePages = G("AnonHugePages"),
            HugePagesTotal = G("HugePages_Total"),
            HugePagesFree = G("HugePages_Free"),
            HugePagesReserved = G("HugePages_Rsvd"),
            HugePagesSurplus = G("HugePages_Surp"),
            HugePageSize = G("Hugepagesize"),
            HugetlbBytes = G("Hugetlb"),
            HardwareCorrupted = G("HardwareCorrupted"),
            Values = v,
        };
    }
}

/// <summary>Reads memory counters from a <see cref="KernelRoot"/>.</summary>
public static class MemInfoReader
{
    /// <summary>The whole machine, from <c>/proc/meminfo</c>.</summary>
    public static MemoryInfo Read(KernelRoot root, ParseContext ctx)
    {
        ctx.Source = root.Resolve("proc/meminfo");
        return MemInfoParser.Parse(root.ReadText("proc/meminfo", "procfs (always present when /proc is mounted)"), ctx);
    }

    /// <summary>Each NUMA node, from <c>/sys/devices/system/node/nodeN/meminfo</c>, in node order.</summary>
    /// <exception cref="Errors.KernelDebugException">The root has no node directories (CONFIG_NUMA off or sysfs missing).</exception>
    public static IReadOnlyList<MemoryInfo> ReadNodes(KernelRoot root, ParseContext ctx)
    {
        const string dir = "sys/devices/system/node";
        var nodes = root.EnumerateEntries(dir, "node*")
            .Select(e => int.TryParse(e.AsSpan(4), out int id) ? id : -1).Where(id => id >= 0).Order().ToArray();
        if (nodes.Length == 0)
            throw Errors.KernelErrors.FileNotFound(root.Resolve(dir + "/node0/meminfo"), "sysfs with CONFIG_NUMA=y");
        var result = new List<MemoryInfo>(nodes.Length);
        foreach (int id in nodes)
        {
            string rel = $"{dir}/node{id}/meminfo";
            ctx.Source = root.Resolve(rel);
            result.Add(MemInfoParser.Parse(root.ReadText(rel, "sysfs with CONFIG_NUMA=y"), ctx, id));
        }
        return result;
    }
}
