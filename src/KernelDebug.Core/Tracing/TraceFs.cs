using System.Runtime.InteropServices;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Procfs;
using KernelDebug.Core.Native;

namespace KernelDebug.Core.Tracing;

/// <summary>
/// Where tracefs is on a kernel root: <c>/sys/kernel/tracing</c>, or the older <c>/sys/kernel/debug/tracing</c>.
/// On the live system it can mount tracefs when it is absent (and says it did through <see cref="MountedNow"/>).
/// </summary>
public sealed class TraceFs
{
    /// <summary>The standard mount point, relative to the root.</summary>
    public const string StandardPath = "sys/kernel/tracing";

    /// <summary>The debugfs path older kernels and tools use.</summary>
    public const string DebugFsPath = "sys/kernel/debug/tracing";

    private TraceFs(KernelRoot root, string relative, bool mountedNow)
    {
        Root = root;
        RelativePath = relative;
        MountedNow = mountedNow;
    }

    /// <summary>The kernel root.</summary>
    public KernelRoot Root { get; }

    /// <summary>tracefs relative to the root, e.g. <c>sys/kernel/tracing</c>.</summary>
    public string RelativePath { get; }

    /// <summary>The absolute directory.</summary>
    public string Path => Root.Resolve(RelativePath);

    /// <summary>True when this process mounted tracefs because it was not mounted.</summary>
    public bool MountedNow { get; }

    /// <summary>A path below tracefs relative to the kernel root, for <see cref="KernelRoot"/> readers.</summary>
    public string Relative(string below) => RelativePath + "/" + below.TrimStart('/');

    /// <summary>The absolute path of a file below tracefs.</summary>
    public string Resolve(string below) => Root.Resolve(Relative(below));

    /// <summary>
    /// Finds tracefs on <paramref name="root"/> without mounting anything, or null. The one rule every reader and
    /// test uses: <c>/sys/kernel/tracing</c> when it is tracefs; else the most recent other tracefs mount listed in
    /// <c>/proc/mounts</c>; else debugfs's <c>/sys/kernel/debug/tracing</c> (an automount, absent from
    /// <c>/proc/mounts</c> until first used). With both mounted the two show the same kernel state.
    /// </summary>
    public static TraceFs? TryLocate(KernelRoot root)
    {
        // A live directory is tracefs when it holds the files every tracefs has (an unmounted mount point is an
        // empty directory); a snapshot or fixture may hold only the parts it captured, so events/ is enough there.
        foreach (var rel in Candidates(root))
            if (root.DirectoryExists(rel + "/events") && (!root.IsLive || root.Exists(rel + "/available_events")))
                return new TraceFs(root, rel, false);
        return null;
    }

    private static readonly Lock MountLock = new();

    /// <summary>
    /// Finds tracefs on <paramref name="root"/> (see <see cref="TryLocate"/>). On the live system, when it is not
    /// mounted and <paramref name="mountIfMissing"/> is set, mounts it at <c>/sys/kernel/tracing</c>.
    /// </summary>
    /// <exception cref="KernelDebugException">tracefs is absent and could not be mounted, with the mount command.</exception>
    public static TraceFs Locate(KernelRoot root, bool mountIfMissing = true)
    {
        if (TryLocate(root) is { } found) return found;
        if (!root.IsLive || !mountIfMissing)
            throw NotMounted(root.Resolve(StandardPath), null);

        // Two first uses at once in one process must not stack two mounts on the same directory.
        lock (MountLock)
        {
            if (TryLocate(root) is { } raced) return raced;
            int rc = LibC.Mount("nodev", "/" + StandardPath, "tracefs", 0, 0);
            int errno = rc == 0 ? 0 : Marshal.GetLastPInvokeError();
            if (rc != 0 && !(errno == LibC.EBUSY && root.Exists(StandardPath + "/available_events")))
                throw NotMounted("/" + StandardPath, errno);
            return new TraceFs(root, StandardPath, rc == 0);
        }
    }

    private static IEnumerable<string> Candidates(KernelRoot root)
    {
        yield return StandardPath;
        foreach (var mp in MountsParser.FindMountPoints(root, "tracefs").Reverse())
            if (mp.Length > 1) yield return mp.TrimStart('/');
        yield return DebugFsPath;
    }

    private static KernelDebugException NotMounted(string path, int? errno)
    {
        string why = errno switch
        {
            null => $"tracefs is not mounted at '{path}'.",
            LibC.EPERM or LibC.EACCES => $"tracefs is not mounted and mounting it at '{path}' was refused ({LibC.Describe(errno.Value)}).",
            LibC.ENODEV => "This kernel has no tracefs (CONFIG_TRACING is off).",
            _ => $"tracefs is not mounted and mounting it at '{path}' failed ({LibC.Describe(errno.Value)}).",
        };
        return new KernelDebugException(errno == LibC.ENODEV ? "TraceFsUnsupported" : "TraceFsNotMounted",
            errno is LibC.EPERM or LibC.EACCES ? KernelErrorCategory.PermissionDenied : KernelErrorCategory.ResourceUnavailable,
            why, "Run as root (CAP_SYS_ADMIN) or mount it yourself: mount -t tracefs nodev /sys/kernel/tracing. The kernel needs CONFIG_FTRACE and CONFIG_TRACING.", path);
    }
}
