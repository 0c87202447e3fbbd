using KernelDebug.Core.Parsing;
namespace KernelDebug.Core.Kmsg;

/// <summary>What limited the allocation that ran out of memory (<c>oom-kill:constraint=</c>, mm/oom_kill.c).</summary>
public enum OomConstraint
{
    /// <summary>Not recorded in the log (the header was rate-limited or cut off).</summary>
    Unknown,
    /// <summary>CONSTRAINT_NONE: the whole machine was out of memory.</summary>
    None,
    /// <summary>CONSTRAINT_CPUSET: the task's cpuset memory nodes were exhausted.</summary>
    Cpuset,
    /// <summary>CONSTRAINT_MEMORY_POLICY: the NUMA memory policy's nodes were exhausted.</summary>
    MemoryPolicy,
    /// <summary>CONSTRAINT_MEMCG: a memory cgroup hit its limit.</summary>
    Memcg,
}

/// <summary>
/// One out-of-memory event from the kernel log: who triggered it, what constrained it, the memory state the kernel
/// printed, and the process it killed. Sizes are bytes (the kernel prints kB and pages).
/// </summary>
public sealed record OomEvent
{
    /// <summary>Wall-clock time of the first line of the event, when the log gives it.</summary>
    public DateTimeOffset? Time { get; init; }
    /// <summary>Time since boot of the first line of the event.</summary>
    public TimeSpan? Uptime { get; init; }
    /// <summary>The task whose allocation failed (<c>X invoked oom-killer</c>).</summary>
    public string? TriggerCommand { get; init; }
    /// <summary>Its process id, from the stack dump's <c>CPU: n PID: p Comm:</c> line.</summary>
    public int? TriggerProcessId { get; init; }
    /// <summary>The allocation's GFP mask.</summary>
    public ulong? GfpMask { get; init; }
    /// <summary>GfpMask in hex as the kernel prints it (0x...); GfpMask stays numeric for filtering.</summary>
    public string? GfpMaskHex => Flat.Hex(GfpMask);
    /// <summary>The GFP mask decoded by the kernel, e.g. <c>GFP_HIGHUSER_MOVABLE|__GFP_COMP</c>.</summary>
    public string? GfpFlags { get; init; }
    /// <summary>The allocation order (2^order pages); -1 for a sysrq-forced OOM.</summary>
    public int? Order { get; init; }
    /// <summary>The triggering task's oom_score_adj.</summary>
    public int? TriggerOomScoreAdj { get; init; }
    /// <summary>What constrained the allocation.</summary>
    public OomConstraint Constraint { get; init; }
    /// <summary>True for a memory-cgroup OOM (the cgroup hit its limit, not the machine).</summary>
    public bool IsMemcg => Constraint == OomConstraint.Memcg || OomMemcg is not null || Message?.StartsWith("Memory cgroup", StringComparison.Ordinal) == true;
    /// <summary>The cgroup the OOM concerns: the memcg that hit its limit for a memcg OOM, else the victim's memory cgroup.</summary>
    public string? Cgroup => OomMemcg ?? TaskMemcg;
    /// <summary>The memory cgroup over its limit (<c>oom_memcg=</c>).</summary>
    public string? OomMemcg { get; init; }
    /// <summary>The victim's memory cgroup (<c>task_memcg=</c>).</summary>
    public string? TaskMemcg { get; init; }
    /// <summary>The cpuset of the triggering task (<c>cpuset=</c>).</summary>
    public string? Cpuset { get; init; }
    /// <summary>The allocation's nodemask, <c>(null)</c> when unrestricted.</summary>
    public string? Nodemask { get; init; }
    /// <summary>The kernel's verdict line prefix: <c>Out of memory</c>, <c>Memory cgroup out of memory</c>, ...</summary>
    public string? Message { get; init; }
    /// <summary>Whether a process was killed (false when the log ends first or nothing was killable).</summary>
    public bool Killed { get; init; }
    /// <summary>The killed process's id.</summary>
    public int? VictimProcessId { get; init; }
    /// <summary>The killed process's command name.</summary>
    public string? VictimCommand { get; init; }
    /// <summary>The killed process's user id.</summary>
    public int? VictimUserId { get; init; }
    /// <summary>Its virtual memory size in bytes.</summary>
    public long? TotalVmBytes { get; init; }
    /// <summary>Its resident anonymous memory in bytes.</summary>
    public long? AnonRssBytes { get; init; }
    /// <summary>Its resident file-backed memory in bytes.</summary>
    public long? FileRssBytes { get; init; }
    /// <summary>Its resident shared memory in bytes.</summary>
    public long? ShmemRssBytes { get; init; }
    /// <summary>Resident bytes in total (anon + file + shmem).</summary>
    public long? RssBytes => AnonRssBytes is null && FileRssBytes is null && ShmemRssBytes is null ? null
        : (AnonRssBytes ?? 0) + (FileRssBytes ?? 0) + (ShmemRssBytes ?? 0);
    /// <summary>Its page tables in bytes.</summary>
    public long? PageTablesBytes { get; init; }
    /// <summary>Its oom_score_adj.</summary>
    public int? VictimOomScoreAdj { get; init; }
    /// <summary>Free memory when the OOM hit (Mem-Info <c>free:</c> pages), in bytes.</summary>
    public long? FreeBytes { get; init; }
    /// <summary>Unreclaimable slab memory (Mem-Info <c>slab_unreclaimable:</c>), in bytes: a large value points at a kernel leak.</summary>
    public long? SlabUnreclaimableBytes { get; init; }
    /// <summary>Free swap (<c>Free swap  =</c>), in bytes.</summary>
    public long? SwapFreeBytes { get; init; }
    /// <summary>Total swap (<c>Total swap =</c>), in bytes.</summary>
    public long? SwapTotalBytes { get; init; }
    /// <summary>For a memcg OOM: the cgroup's memory usage (<c>memory: usage</c>), in bytes.</summary>
    public long? MemcgUsageBytes { get; init; }
    /// <summary>For a memcg OOM: the cgroup's memory limit, in bytes.</summary>
    public long? MemcgLimitBytes { get; init; }
    /// <summary>For a memcg OOM: the cgroup's swap usage, in bytes.</summary>
    public long? MemcgSwapUsageBytes { get; init; }
    /// <summary>File or device the event was read from.</summary>
    public string? Source { get; init; }
    /// <summary>Line of the event's first message in <see cref="Source"/>.</summary>
    public int? LineNumber { get; init; }
    /// <summary>The event's log lines (at most <see cref="OomEventParser.MaxLines"/>).</summary>
    public IReadOnlyList<string> Lines { get; init => field = Flat.List(value, "\n"); } = FlatList<string>.Empty;

    /// <inheritdoc />
    public override string ToString() => $"{Message ?? "OOM"}: {VictimCommand ?? "?"} ({VictimProcessId}) killed, trigger {TriggerCommand}";
}
