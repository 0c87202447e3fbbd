using KernelDebug.Core.Errors;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Procfs;
using KernelDebug.Core.Sysfs;

namespace KernelDebug.Core.Memory;

/// <summary>Reads slab caches from a <see cref="KernelRoot"/>: <c>/proc/slabinfo</c> joined with <c>/sys/kernel/slab</c>.</summary>
public static class SlabReader
{
    /// <summary>The procfs file.</summary>
    public const string SlabInfoPath = "proc/slabinfo";

    /// <summary>Reads every cache.</summary>
    /// <exception cref="KernelDebugException">slabinfo is missing or, as for any non-root user, unreadable.</exception>
    public static IReadOnlyList<SlabCache> Read(KernelRoot root, SlabDetail detail, ParseContext ctx)
    {
        var now = DateTimeOffset.Now;
        string text = ReadSlabInfo(root);
        ctx.Source = root.Resolve(SlabInfoPath);
        var caches = SlabInfoParser.Parse(text, root.PageSize, ctx, now);
        ctx.Source = root.Resolve(SlabSysfs.Directory);
        return SlabSysfs.Join(root, caches, detail, ctx);
    }

    /// <summary>Reads the whole-kernel summary: slabinfo sums plus the reclaimable split of meminfo.</summary>
    public static SlabSummary ReadSummary(KernelRoot root, ParseContext ctx)
    {
        var caches = Read(root, SlabDetail.None, ctx);
        string? meminfo = root.TryReadText("proc/meminfo", 1 << 20);
        ctx.Source = root.Resolve("proc/meminfo");
        var mem = meminfo is null ? null : Procfs.MemInfoParser.Parse(meminfo, ctx);
        return SlabSummary.From(caches, mem?.SlabReclaimable, mem?.SlabUnreclaimable, caches.Count > 0 ? caches[0].Timestamp : DateTimeOffset.Now);
    }

    private static string ReadSlabInfo(KernelRoot root)
    {
        try
        {
            return root.ReadText(SlabInfoPath, "the slab allocator (CONFIG_SLUB_DEBUG for SLUB)");
        }
        catch (KernelDebugException e) when (e.ErrorId == "KernelFileAccessDenied")
        {
            throw KernelErrors.AccessDenied(root.Resolve(SlabInfoPath),
                "/proc/slabinfo is readable by root only (mode 0400): run as root, e.g. 'sudo pwsh', or read a snapshot taken as root with -Root.", e);
        }
    }
}
