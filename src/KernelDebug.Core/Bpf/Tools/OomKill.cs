using KernelDebug.Core.Bpf.Engine;
using KernelDebug.Core.Kmsg;
using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Bpf.Tools;

/// <summary>One OOM kill as it happened (Trace-OomKill), joined with the kernel log's report of it when that can be read.</summary>
public sealed record OomKill
{
    /// <summary>When the kernel chose the victim.</summary>
    public DateTimeOffset Time { get; init; }
    /// <summary>The victim's process id.</summary>
    public int ProcessId { get; init; }
    /// <summary>The victim thread the kernel marked.</summary>
    public int ThreadId { get; init; }
    /// <summary>The victim's command name.</summary>
    public string Command { get; init; } = "";
    /// <summary>The victim's user id.</summary>
    public int UserId { get; init; }
    /// <summary>The victim's oom_score_adj (-1000 .. 1000).</summary>
    public int OomScoreAdj { get; init; }
    /// <summary>The victim's virtual memory size in bytes.</summary>
    public long TotalVmBytes { get; init; }
    /// <summary>Resident anonymous memory in bytes (exact from the log's report when joined, else the kernel's per-CPU approximate counter).</summary>
    public long AnonRssBytes { get; init; }
    /// <summary>Resident file-backed memory in bytes.</summary>
    public long FileRssBytes { get; init; }
    /// <summary>Resident shared memory in bytes.</summary>
    public long ShmemRssBytes { get; init; }
    /// <summary>All resident memory in bytes.</summary>
    public long RssBytes => AnonRssBytes + FileRssBytes + ShmemRssBytes;
    /// <summary>The victim's cgroup path (in the -Cgroup hierarchy, else v2).</summary>
    public string? CgroupPath { get; init; }
    /// <summary>The container id the cgroup path holds, if any.</summary>
    public string? ContainerId { get; init; }
    /// <summary>The process whose allocation ran out of memory (may be the victim itself).</summary>
    public int TriggerProcessId { get; init; }
    /// <summary>The triggering thread.</summary>
    public int TriggerThreadId { get; init; }
    /// <summary>The triggering command.</summary>
    public string TriggerCommand { get; init; } = "";
    /// <summary>What limited the allocation (the log's oom-kill:constraint=); Unknown without the report.</summary>
    public OomConstraint Constraint { get; init; }
    /// <summary>The memory cgroup that hit its limit (constraint Memcg), from the report.</summary>
    public string? OomCgroup { get; init; }
    /// <summary>That cgroup's limit in bytes, from the report.</summary>
    public long? MemcgLimitBytes { get; init; }
    /// <summary>The kernel log's report of this kill (Get-KernelOomEvent's record), null when it could not be read.</summary>
    public OomEvent? Report { get; init; }
}

/// <summary>Options of Trace-OomKill.</summary>
public sealed record OomKillOptions : BpfToolOptions
{
    /// <summary>Only victims whose command matches (user space).</summary>
    public Func<string, bool>? CommandFilter { get; init; }
    /// <summary>Join each kill with the kernel log's report (reads /dev/kmsg when a kill happens).</summary>
    public bool JoinKernelLog { get; init; } = true;
}

/// <summary>Trace-OomKill's tool: oomkill.bpf.c on oom:mark_victim, one record per kill.</summary>
public sealed class OomKillTracer : BpfEventTool<OomKill>
{
    private readonly OomKillOptions _options;
    private static readonly long PageSize = Environment.SystemPageSize;

    private OomKillTracer(KernelRoot root, OomKillOptions options) : base(root, options, "oomkill", "kd_oom", "oom:mark_victim", "victim") => _options = options;

    /// <summary>Validates, loads and attaches. Errors are KernelDebugExceptions with remedies.</summary>
    public static OomKillTracer Start(KernelRoot root, OomKillOptions options, Action<string>? verbose = null) =>
        Launch(new OomKillTracer(root, options), verbose);


    /// <inheritdoc />
    protected override unsafe OomKill? DecodeEvent(ReadOnlySpan<byte> sample)
    {
        var e = BpfAbi.Read<OomKillEvent>(sample);
        string comm = BpfAbi.Text(new ReadOnlySpan<byte>(e.Comm, 16));
        if (_options.CommandFilter is { } f && !f(comm)) return null;
        string? path = CgroupNames.PathOf(e.Cgroup);
        var kill = new OomKill
        {
            Time = WallTime(e.Ts),
            ProcessId = (int)e.Pid,
            ThreadId = (int)e.Tid,
            Command = comm,
            UserId = (int)e.Uid,
            OomScoreAdj = e.OomScoreAdj,
            TotalVmBytes = (long)e.TotalVm * PageSize,
            AnonRssBytes = Math.Max(0, e.AnonRss) * PageSize,
            FileRssBytes = Math.Max(0, e.FileRss) * PageSize,
            ShmemRssBytes = Math.Max(0, e.ShmemRss) * PageSize,
            CgroupPath = path,
            ContainerId = Cgroups.ContainerId(path),
            TriggerProcessId = (int)e.TriggerPid,
            TriggerThreadId = (int)e.TriggerTid,
            TriggerCommand = BpfAbi.Text(new ReadOnlySpan<byte>(e.TriggerComm, 16)),
        };
        return _options.JoinKernelLog && Root.IsLive ? Join(kill) : kill;
    }

    /// <summary>
    /// The kill with its kernel log report: the kernel prints "Killed process" right after the tracepoint, so the
    /// report is read from /dev/kmsg, waiting up to 200 ms for that line. Without permission or report, the kill as is.
    /// </summary>
    private OomKill Join(OomKill kill)
    {
        for (int attempt = 0; attempt < 10; attempt++)
        {
            OomEvent? report;
            try
            {
                var ctx = new ParseContext("/dev/kmsg");
                report = OomEventParser.Parse(KernelLog.ReadDevice(Root, ctx, follow: false, CancellationToken.None), ctx)
                    .LastOrDefault(r => r.VictimProcessId == kill.ProcessId && r.Killed && (r.Time is null || r.Time >= kill.Time - TimeSpan.FromSeconds(5)));
            }
            catch (Errors.KernelDebugException)
            {
                return kill;
            }
            if (report is not null)
                return kill with
                {
                    Report = report,
                    Constraint = report.Constraint,
                    OomCgroup = report.OomMemcg,
                    MemcgLimitBytes = report.MemcgLimitBytes,
                    TotalVmBytes = report.TotalVmBytes ?? kill.TotalVmBytes,
                    AnonRssBytes = report.AnonRssBytes ?? kill.AnonRssBytes,
                    FileRssBytes = report.FileRssBytes ?? kill.FileRssBytes,
                    ShmemRssBytes = report.ShmemRssBytes ?? kill.ShmemRssBytes,
                };
            Thread.Sleep(20);
        }
        return kill;
    }
}
