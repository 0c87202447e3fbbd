using KernelDebug.Core.Errors;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Procfs;

namespace KernelDebug.Core.Locking;

/// <summary>Reads lockdep's and lock statistics' procfs files from a <see cref="KernelRoot"/>.</summary>
public static class LockReader
{
    /// <summary><c>/proc/lock_stat</c>.</summary>
    public const string LockStatPath = "proc/lock_stat";
    /// <summary><c>/proc/lockdep</c>.</summary>
    public const string LockdepPath = "proc/lockdep";
    /// <summary><c>/proc/lockdep_stats</c>.</summary>
    public const string LockdepStatsPath = "proc/lockdep_stats";

    /// <summary>Per-class contention statistics. <paramref name="collecting"/> is false when collection is switched off.</summary>
    /// <exception cref="KernelDebugException">The kernel lacks CONFIG_LOCK_STAT.</exception>
    public static IReadOnlyList<LockStat> ReadLockStat(KernelRoot root, ParseContext ctx, out bool? collecting)
    {
        if (!root.Exists(LockStatPath))
            throw KernelErrors.FeatureMissing("LockStatUnavailable", "lock statistics (/proc/lock_stat)",
                "Lock statistics need a kernel built with CONFIG_LOCK_STAT=y (which selects CONFIG_LOCKDEP and CONFIG_DEBUG_LOCK_ALLOC); " +
                "after booting it, start collection with 'echo 1 > /proc/sys/kernel/lock_stat'. On production kernels, measure contention with BPF instead (Measure-LockContention).",
                root.Resolve(LockStatPath));
        collecting = root.TryReadValue("proc/sys/kernel/lock_stat") switch { "1" => true, "0" => false, _ => null };
        ctx.Source = root.Resolve(LockStatPath);
        return LockStatParser.Parse(Read(root, LockStatPath), ctx);
    }

    /// <summary>The lock classes lockdep tracks.</summary>
    /// <exception cref="KernelDebugException">The kernel lacks CONFIG_LOCKDEP.</exception>
    public static IReadOnlyList<LockdepClass> ReadClasses(KernelRoot root, ParseContext ctx)
    {
        RequireLockdep(root, LockdepPath);
        ctx.Source = root.Resolve(LockdepPath);
        return LockdepParser.ParseClasses(Read(root, LockdepPath), ctx);
    }

    /// <summary>lockdep's own counters and limits.</summary>
    /// <exception cref="KernelDebugException">The kernel lacks CONFIG_LOCKDEP.</exception>
    public static IReadOnlyList<LockdepStatistic> ReadStatistics(KernelRoot root, ParseContext ctx)
    {
        RequireLockdep(root, LockdepStatsPath);
        ctx.Source = root.Resolve(LockdepStatsPath);
        return LockdepParser.ParseStatistics(Read(root, LockdepStatsPath), ctx);
    }

    private static void RequireLockdep(KernelRoot root, string path)
    {
        if (!root.Exists(path))
            throw KernelErrors.FeatureMissing("LockdepUnavailable", $"the lock validator ({"/" + path})",
                "The lock dependency validator needs a kernel built with CONFIG_LOCKDEP=y (set by CONFIG_PROVE_LOCKING=y; dependency counts need CONFIG_PROVE_LOCKING).",
                root.Resolve(path));
    }

    private static string Read(KernelRoot root, string path)
    {
        try { return root.ReadText(path, "CONFIG_LOCKDEP / CONFIG_LOCK_STAT"); }
        catch (KernelDebugException e) when (e.ErrorId == "KernelFileAccessDenied")
        {
            throw KernelErrors.AccessDenied(root.Resolve(path), $"/{path} is readable by root only: run as root.", e);
        }
    }
}
