using KernelDebug.Core.Parsing;
using System.Runtime.InteropServices;
using System.Text;
using KernelDebug.Core.Bpf.Native;

namespace KernelDebug.Core.Bpf;

/// <summary>A BPF program loaded in the kernel, as bpf(2) BPF_OBJ_GET_INFO_BY_FD describes it.</summary>
public sealed record BpfProgramInfo
{
    /// <summary>Kernel-wide program id.</summary>
    public uint Id { get; init; }
    /// <summary>Program name (at most 15 characters; KernelDebug's start with kd_).</summary>
    public string Name { get; init; } = "";
    /// <summary>Program type, e.g. tracing, raw_tracepoint, kprobe (enum bpf_prog_type without the prefix, lower case).</summary>
    public string Type { get; init; } = "";
    /// <summary>The 8-byte program tag as hex (hash of the instructions).</summary>
    public string Tag { get; init; } = "";
    /// <summary>When the program was loaded.</summary>
    public DateTimeOffset LoadedAt { get; init; }
    /// <summary>User id that loaded it.</summary>
    public uint CreatedByUid { get; init; }
    /// <summary>Processes holding a file descriptor of the program or of a link to it (from /proc/*/fdinfo), when known.</summary>
    public IReadOnlyList<int> OwnerProcessIds { get; init => field = Flat.List(value, ","); } = FlatList<int>.Empty;
    /// <summary>Number of runs counted while BPF statistics were on (kernel.bpf_stats_enabled or BPF_ENABLE_STATS).</summary>
    public ulong RunCount { get; init; }
    /// <summary>Total run time counted while BPF statistics were on.</summary>
    public TimeSpan RunTime { get; init; }
    /// <summary>Run time per run in nanoseconds, or null when no run was counted.</summary>
    public double? AverageRunNanoseconds => RunCount == 0 ? null : RunTime.Ticks * 100.0 / RunCount;
    /// <summary>Runs skipped because the program was already running on the CPU.</summary>
    public ulong RecursionMisses { get; init; }
    /// <summary>Instructions the verifier processed.</summary>
    public uint VerifiedInstructions { get; init; }
    /// <summary>Number of maps the program uses.</summary>
    public uint MapCount { get; init; }
    /// <summary>Raw run time in nanoseconds (for arithmetic without TimeSpan's 100 ns resolution).</summary>
    public ulong RunTimeNanoseconds { get; init; }

    private static readonly string[] TypeNames =
    [
        "unspec", "socket_filter", "kprobe", "sched_cls", "sched_act", "tracepoint", "xdp", "perf_event", "cgroup_skb",
        "cgroup_sock", "lwt_in", "lwt_out", "lwt_xmit", "sock_ops", "sk_skb", "cgroup_device", "sk_msg",
        "raw_tracepoint", "cgroup_sock_addr", "lwt_seg6local", "lirc_mode2", "sk_reuseport", "flow_dissector",
        "cgroup_sysctl", "raw_tracepoint_writable", "cgroup_sockopt", "tracing", "struct_ops", "ext", "lsm",
        "sk_lookup", "syscall", "netfilter",
    ];

    /// <summary>The name of an enum bpf_prog_type value.</summary>
    public static string TypeName(uint type) => type < TypeNames.Length ? TypeNames[type] : $"type_{type}";

    /// <summary>Reads the info of a program fd; null when the kernel refuses.</summary>
    internal static unsafe BpfProgramInfo? FromFd(int fd)
    {
        Libbpf.BpfProgInfo info = default;
        uint len = (uint)sizeof(Libbpf.BpfProgInfo);
        if (Libbpf.bpf_obj_get_info_by_fd(fd, &info, &len) != 0) return null;
        var tag = new StringBuilder(16);
        for (int i = 0; i < 8; i++) tag.Append(info.Tag[i].ToString("x2"));
        var name = Marshal.PtrToStringUTF8((nint)info.Name) ?? "";
        return new BpfProgramInfo
        {
            Id = info.Id,
            Name = name,
            Type = TypeName(info.Type),
            Tag = tag.ToString(),
            LoadedAt = BootTime() + TimeSpan.FromTicks((long)(info.LoadTime / 100)),
            CreatedByUid = info.CreatedByUid,
            RunCount = info.RunCount,
            RunTime = TimeSpan.FromTicks((long)(info.RunTimeNs / 100)),
            RunTimeNanoseconds = info.RunTimeNs,
            RecursionMisses = info.RecursionMisses,
            VerifiedInstructions = info.VerifiedInstructions,
            MapCount = info.NrMapIds,
        };
    }

    // load_time counts from boot on CLOCK_BOOTTIME.
    private static unsafe DateTimeOffset BootTime()
    {
        Libc.TimeSpec ts;
        Libc.clock_gettime(Libc.ClockBoottime, &ts);
        return DateTimeOffset.UtcNow - TimeSpan.FromTicks(ts.Seconds * TimeSpan.TicksPerSecond + ts.Nanoseconds / 100);
    }

    /// <summary>
    /// Every program loaded in the kernel (BPF_PROG_GET_NEXT_ID, GET_FD_BY_ID, OBJ_GET_INFO_BY_FD), optionally only
    /// those whose name matches <paramref name="match"/>; owners are resolved from /proc/*/fdinfo when asked.
    /// Programs that vanish while walking are skipped.
    /// </summary>
    public static unsafe IReadOnlyList<BpfProgramInfo> ReadAll(Func<string, bool>? match = null, bool resolveOwners = true, KernelRoot? root = null)
    {
        var list = new List<BpfProgramInfo>();
        uint id = 0;
        while (true)
        {
            uint next;
            int r = Libbpf.bpf_prog_get_next_id(id, &next);
            if (r == -ErrnoException.ENOENT) break;
            if (r < 0)
            {
                if (-r is ErrnoException.EPERM or ErrnoException.EACCES) throw BpfPreconditions.BpfPermissionDenied(new ErrnoException("bpf_prog_get_next_id", -r));
                ErrnoException.Check(r, "bpf_prog_get_next_id");
            }
            id = next;
            int fd = Libbpf.bpf_prog_get_fd_by_id(id);
            if (fd < 0) continue;
            using var handle = new BpfFdHandle(fd);
            var info = FromFd(fd);
            if (info is not null && (match is null || match(info.Name))) list.Add(info);
        }
        if (resolveOwners && list.Count > 0)
        {
            var owners = ReadOwners(root ?? KernelRoot.Live, list.Select(p => p.Id).ToHashSet());
            for (int i = 0; i < list.Count; i++)
                if (owners.TryGetValue(list[i].Id, out var pids)) list[i] = list[i] with { OwnerProcessIds = pids.Order().ToArray() };
        }
        return list;
    }

    /// <summary>
    /// Waits until none of <paramref name="ids"/> is loaded any more (the kernel frees a closed program after an
    /// RCU grace period, so it can outlive its last fd by milliseconds) and returns those still loaded at the timeout.
    /// </summary>
    public static IReadOnlyList<uint> WaitUntilUnloaded(IEnumerable<uint> ids, TimeSpan timeout)
    {
        var wanted = ids.ToHashSet();
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var alive = ReadAll(resolveOwners: false).Where(p => wanted.Contains(p.Id)).Select(p => p.Id).ToList();
            if (alive.Count == 0 || DateTime.UtcNow > deadline) return alive;
            Thread.Sleep(20);
        }
    }

    /// <summary>Program id → pids holding it (prog or link fds carry "prog_id:" in their fdinfo).</summary>
    public static Dictionary<uint, HashSet<int>> ReadOwners(KernelRoot root, IReadOnlySet<uint>? ids = null)
    {
        var result = new Dictionary<uint, HashSet<int>>();
        foreach (var procDir in root.EnumerateEntries("proc"))
        {
            string pidText = Path.GetFileName(procDir);
            if (!int.TryParse(pidText, out int pid)) continue;
            IEnumerable<string> fds;
            try { fds = Directory.EnumerateFiles(root.Resolve($"proc/{pid}/fdinfo")).ToList(); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
            foreach (var f in fds)
            {
                // Only bpf-prog and bpf_link fds name a program; readlink is much cheaper than reading every fdinfo.
                var target = new FileInfo(root.Resolve($"proc/{pid}/fd/{Path.GetFileName(f)}")).LinkTarget;
                if (target is null || !(target.StartsWith("anon_inode:bpf-prog", StringComparison.Ordinal) || target.StartsWith("anon_inode:bpf_link", StringComparison.Ordinal))) continue;
                string? text;
                try { text = File.ReadAllText(f); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
                int at = text.IndexOf("prog_id:", StringComparison.Ordinal);
                if (at < 0) continue;
                var rest = text.AsSpan(at + 8).TrimStart();
                int end = rest.IndexOfAny('\n', ' ');
                if (!uint.TryParse(end < 0 ? rest : rest[..end], out uint progId)) continue;
                if (ids is not null && !ids.Contains(progId)) continue;
                if (!result.TryGetValue(progId, out var set)) result[progId] = set = new HashSet<int>();
                set.Add(pid);
            }
        }
        return result;
    }
}
