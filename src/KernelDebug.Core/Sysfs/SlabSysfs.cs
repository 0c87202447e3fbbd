using KernelDebug.Core.Parsing;
using KernelDebug.Core.Procfs;

namespace KernelDebug.Core.Sysfs;

/// <summary>How much of <c>/sys/kernel/slab</c> to join to <c>/proc/slabinfo</c>.</summary>
public enum SlabDetail
{
    /// <summary>slabinfo only.</summary>
    None,
    /// <summary>Aliases (one directory listing) and reclaimability (one file per cache).</summary>
    Basic,
    /// <summary>Also requested object size, order, partial and CPU slabs and the SLAB_* flags (about a dozen files per cache).</summary>
    Full,
}

/// <summary>
/// Reads SLUB's <c>/sys/kernel/slab</c>: each cache is a directory, and the names SLUB merged into a shared cache are
/// symbolic links to that cache's directory (<c>UNIX -&gt; :A-0001152</c>).
/// </summary>
public static class SlabSysfs
{
    /// <summary>The directory, relative to a root.</summary>
    public const string Directory = "sys/kernel/slab";

    // sysfs attribute → the SLAB_* flag it shows.
    private static readonly (string File, string Flag)[] FlagFiles =
    [
        ("hwcache_align", "SLAB_HWCACHE_ALIGN"), ("reclaim_account", "SLAB_RECLAIM_ACCOUNT"),
        ("destroy_by_rcu", "SLAB_TYPESAFE_BY_RCU"), ("cache_dma", "SLAB_CACHE_DMA"), ("poison", "SLAB_POISON"),
        ("red_zone", "SLAB_RED_ZONE"), ("sanity_checks", "SLAB_CONSISTENCY_CHECKS"), ("store_user", "SLAB_STORE_USER"),
        ("trace", "SLAB_TRACE"),
    ];

    /// <summary>Whether the root has SLUB's sysfs directory.</summary>
    public static bool IsPresent(KernelRoot root) => root.DirectoryExists(Directory);

    /// <summary>
    /// Groups the entries of <c>/sys/kernel/slab</c> by the directory they are (or link to): directory → every name
    /// that leads to it, the directory's own name first.
    /// </summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> ReadAliasGroups(KernelRoot root)
    {
        var byTarget = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        string dir = root.Resolve(Directory);
        foreach (string name in root.EnumerateEntries(Directory))
        {
            string? target = null;
            try { target = new FileInfo(Path.Combine(dir, name)).LinkTarget; }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            string key = target is null ? name : Path.GetFileName(target.TrimEnd('/'));
            if (!byTarget.TryGetValue(key, out var list)) byTarget[key] = list = new List<string>();
            if (target is null) list.Insert(0, name); else list.Add(name);
        }
        var result = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var (k, v) in byTarget) result[k] = v;
        return result;
    }

    /// <summary>
    /// Adds sysfs facts to parsed caches. Caches sysfs does not list (SLAB kernels, or a snapshot without sys/) stay as they are.
    /// </summary>
    public static IReadOnlyList<SlabCache> Join(KernelRoot root, IReadOnlyList<SlabCache> caches, SlabDetail detail, ParseContext ctx)
    {
        if (detail == SlabDetail.None || !IsPresent(root)) return caches;
        var groups = ReadAliasGroups(root);
        // name (link or directory) → directory
        var dirOf = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (d, names) in groups) foreach (var n in names) dirOf[n] = d;
        var result = new List<SlabCache>(caches.Count);
        foreach (var c in caches)
        {
            if (!dirOf.TryGetValue(c.Name, out var d)) { result.Add(c); continue; }
            var aliases = groups[d].Where(n => n != c.Name && n != d && !n.StartsWith(':')).ToArray();
            string p = $"{Directory}/{d}/";
            bool? reclaim = Flag(root, p + "reclaim_account", ctx);
            var r = c with { Aliases = aliases, Reclaimable = reclaim };
            if (detail == SlabDetail.Full)
            {
                var flags = new List<string>();
                foreach (var (file, flag) in FlagFiles)
                    if (Flag(root, p + file, ctx) == true) flags.Add(flag);
                r = r with
                {
                    RequestedObjectSize = Number(root, p + "object_size", ctx),
                    SlabOrder = Number(root, p + "order", ctx) is long o && o is >= 0 and <= int.MaxValue ? (int)o : null,
                    PartialSlabs = Number(root, p + "partial", ctx),
                    CpuSlabs = Number(root, p + "cpu_slabs", ctx),
                    Flags = flags,
                };
            }
            result.Add(r);
        }
        return result;
    }

    /// <summary>The cache names the live kernel lists (directories and aliases), for tab completion.</summary>
    public static IEnumerable<string> Names(KernelRoot root) =>
        root.EnumerateEntries(Directory).Where(n => !n.StartsWith(':'));

    private static bool? Flag(KernelRoot root, string path, ParseContext ctx)
    {
        switch (root.TryReadValue(path))
        {
            case "1": return true;
            case "0": return false;
            case null: return null;
            case var s: ctx.Warn(root.Resolve(path), 1, "not 0 or 1", s); return null;
        }
    }

    // Counters such as partial print "53 N0=53": the total comes first.
    private static long? Number(KernelRoot root, string path, ParseContext ctx)
    {
        string? s = root.TryReadValue(path);
        if (s is null) return null;
        var first = Fields.Split(s).Next();
        if (Fields.TryLong(first, out long v) && v >= 0) return v;
        ctx.Warn(root.Resolve(path), 1, "not a count", s);
        return null;
    }
}
