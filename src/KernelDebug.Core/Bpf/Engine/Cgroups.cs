using System.Text.RegularExpressions;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Native;

namespace KernelDebug.Core.Bpf.Engine;

/// <summary>
/// A cgroup as the BPF filter (kd_filter.bpf.h) tests it: the kernfs id of its directory (its inode), its depth below
/// the hierarchy's root, and the hierarchy: v2 (<see cref="SubsystemId"/> -1) or the v1 hierarchy of one controller.
/// </summary>
public sealed record CgroupTarget(string Path, ulong Id, int Level, int SubsystemId, string MountPoint)
{
    /// <summary>True for the unified (v2) hierarchy.</summary>
    public bool IsV2 => SubsystemId < 0;
}

/// <summary>Cgroup paths, ids and container ids: resolving -Cgroup, and naming the cgroup ids records carry.</summary>
public static partial class Cgroups
{
    /// <summary>A cgroup file system mount: where, which version, and for v1 its controllers.</summary>
    public sealed record Mount(string MountPoint, string Root, bool IsV2, IReadOnlyList<string> Controllers);

    /// <summary>The cgroup mounts of this process's mount namespace (/proc/self/mountinfo).</summary>
    public static IReadOnlyList<Mount> ReadMounts(KernelRoot root)
    {
        var list = new List<Mount>();
        foreach (var line in (root.TryReadText("proc/self/mountinfo") ?? "").Split('\n'))
        {
            int dash = line.IndexOf(" - ", StringComparison.Ordinal);
            if (dash < 0) continue;
            var pre = line[..dash].Split(' ');
            var post = line[(dash + 3)..].Split(' ');
            if (pre.Length < 5 || post.Length < 3) continue;
            string type = post[0];
            if (type is not ("cgroup" or "cgroup2")) continue;
            var controllers = type == "cgroup" ? post[2].Split(',').Where(o => o is not ("rw" or "ro") && !o.Contains('=')).ToArray() : [];
            list.Add(new Mount(Unescape(pre[4]), Unescape(pre[3]), type == "cgroup2", controllers));
        }
        return list;
    }

    private static string Unescape(string s) => s.Replace("\\040", " ").Replace("\\011", "\t").Replace("\\012", "\n").Replace("\\134", "\\");

    /// <summary>
    /// Resolves a cgroup directory (absolute, or relative to the v2 mount) for the filter. v1 hierarchies are tested
    /// through their first controller (named hierarchies without one, like name=systemd, cannot be).
    /// </summary>
    public static CgroupTarget Resolve(KernelRoot root, string path)
    {
        var mounts = ReadMounts(root);
        string full = path;
        if (!System.IO.Path.IsPathRooted(full))
            full = System.IO.Path.Combine(mounts.FirstOrDefault(m => m.IsV2)?.MountPoint ?? "/sys/fs/cgroup", path);
        full = System.IO.Path.GetFullPath(full).TrimEnd('/');
        if (!Directory.Exists(full))
            throw new KernelDebugException("CgroupNotFound", KernelErrorCategory.ObjectNotFound, $"There is no cgroup directory '{path}'.",
                "Give a directory of a cgroup file system, e.g. /sys/fs/cgroup/system.slice/ssh.service (v2) or /sys/fs/cgroup/cpu/mygroup (v1).", path);
        var mount = mounts.Where(m => full == m.MountPoint.TrimEnd('/') || full.StartsWith(m.MountPoint.TrimEnd('/') + "/", StringComparison.Ordinal))
            .OrderByDescending(m => m.MountPoint.Length).FirstOrDefault()
            ?? throw new KernelDebugException("NotACgroup", KernelErrorCategory.InvalidArgument, $"'{full}' is not inside a cgroup file system.",
                "Give a directory under a cgroup or cgroup2 mount (see /proc/self/mountinfo).", path);
        int ssid = -1;
        if (!mount.IsV2)
        {
            var subsystems = ReadSubsystemIds(root);
            ssid = mount.Controllers.Select(c => subsystems.GetValueOrDefault(c, -1)).FirstOrDefault(i => i >= 0, -1);
            if (ssid < 0)
                throw new KernelDebugException("CgroupHierarchyWithoutController", KernelErrorCategory.NotImplemented,
                    $"The cgroup v1 hierarchy at {mount.MountPoint} has no controller, so the kernel offers no way to test it.",
                    "Give the same group in a controller's hierarchy (e.g. /sys/fs/cgroup/cpu/...) or in the unified (v2) hierarchy.", path);
        }
        string rel = full.Length > mount.MountPoint.TrimEnd('/').Length ? full[(mount.MountPoint.TrimEnd('/').Length + 1)..] : "";
        int level = Depth(mount.Root) + Depth(rel);
        ulong id = LibC.Inode(full) ?? throw new KernelDebugException("CgroupNotFound", KernelErrorCategory.ObjectNotFound, $"Cannot stat '{full}'.", null, path);
        return new CgroupTarget(full, id, level, ssid, mount.MountPoint);
    }

    private static int Depth(string rel) => rel.Split('/', StringSplitOptions.RemoveEmptyEntries).Length;

    /// <summary>Controller name → subsystem id: /proc/cgroups lists the controllers in subsystem id order.</summary>
    public static Dictionary<string, int> ReadSubsystemIds(KernelRoot root)
    {
        var ids = new Dictionary<string, int>();
        int i = 0;
        foreach (var line in (root.TryReadText("proc/cgroups") ?? "").Split('\n'))
        {
            if (line.StartsWith('#') || line.Trim().Length == 0) continue;
            ids[line.Split('\t', ' ')[0]] = i++;
        }
        return ids;
    }

    [GeneratedRegex(@"(?:docker|cri-containerd|containerd|crio|libpod|lxc)[-/]([0-9a-f]{12,64})(?:\.scope)?(?:/|$)")]
    private static partial Regex RuntimeId();

    [GeneratedRegex(@"/([0-9a-f]{64})(?:\.scope)?(?:/|$)")]
    private static partial Regex BareId();

    /// <summary>
    /// The container id a cgroup path holds: docker-&lt;id&gt;.scope and /docker/&lt;id&gt; (Docker), cri-containerd-,
    /// crio-, libpod- (Podman) systemd scopes, and Kubernetes' bare 64-hex directories; null when it holds none.
    /// </summary>
    public static string? ContainerId(string? cgroupPath)
    {
        if (string.IsNullOrEmpty(cgroupPath)) return null;
        var m = RuntimeId().Match(cgroupPath);
        if (m.Success) return m.Groups[1].Value;
        m = BareId().Match(cgroupPath);
        return m.Success ? m.Groups[1].Value : null;
    }
}

/// <summary>Names cgroup ids (kernfs inodes) of one hierarchy by walking its directories once and on a miss.</summary>
public sealed class CgroupNamer
{
    private readonly string? _mountPoint;
    private Dictionary<ulong, string> _paths = new();
    private DateTime _lastScan = DateTime.MinValue;

    /// <summary>Names ids of the hierarchy the filter uses (v2 without a filter).</summary>
    public CgroupNamer(KernelRoot root, CgroupTarget? target)
    {
        _mountPoint = target?.MountPoint ?? Cgroups.ReadMounts(root).FirstOrDefault(m => m.IsV2)?.MountPoint;
    }

    /// <summary>The cgroup path relative to its hierarchy ("/" for the root), or null when unknown.</summary>
    public string? PathOf(ulong id)
    {
        if (id == 0 || _mountPoint is null) return null;
        if (_paths.TryGetValue(id, out var p)) return p;
        if (DateTime.UtcNow - _lastScan < TimeSpan.FromMilliseconds(500)) return null;
        Scan();
        return _paths.GetValueOrDefault(id);
    }

    private void Scan()
    {
        _lastScan = DateTime.UtcNow;
        var paths = new Dictionary<ulong, string>();
        var stack = new Stack<string>();
        stack.Push(_mountPoint!);
        while (stack.Count > 0)
        {
            string dir = stack.Pop();
            if (LibC.Inode(dir) is { } ino) paths[ino] = dir.Length == _mountPoint!.Length ? "/" : dir[_mountPoint.Length..];
            try { foreach (var d in Directory.EnumerateDirectories(dir)) stack.Push(d); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        _paths = paths;
    }
}
