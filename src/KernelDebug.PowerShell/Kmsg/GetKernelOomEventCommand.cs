using System.Management.Automation;
using KernelDebug.Core.Kmsg;
using KernelDebug.Core.Parsing;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Kmsg;

/// <summary>
/// <para type="synopsis">Gets out-of-memory kills and memory-cgroup OOMs from the kernel log, one record per event.</para>
/// <para type="description">Get-KernelOomEvent reads the kernel log (live /dev/kmsg by default, a boot of the systemd journal with -Boot, log files and journal files with -Path, or KernelMessage objects from Get-KernelMessage on the pipeline) and puts each OOM event the kernel's OOM killer printed together into one OomEvent: when it happened; the task whose allocation failed (TriggerCommand, TriggerProcessId, GfpMask and its decoded GfpFlags, Order, TriggerOomScoreAdj); what constrained it (Constraint: None for the whole machine, Memcg, Cpuset, MemoryPolicy) and the cgroup concerned; the process killed (VictimProcessId, VictimCommand, VictimUserId, TotalVmBytes, AnonRssBytes, FileRssBytes, ShmemRssBytes, PageTablesBytes, VictimOomScoreAdj); and the memory state summarised from the lines the kernel printed (FreeBytes, SlabUnreclaimableBytes, SwapFreeBytes, SwapTotalBytes, and for a memcg its usage and limit). Sizes are in bytes; the kernel prints kB and pages.</para>
/// <para type="description">A kill whose header the kernel rate-limited away is still reported, with what its "Killed process" line says. The Mem-Info counts are pages: live they are converted with this machine's page size; for files, 4096 bytes is assumed unless -PageSize says otherwise.</para>
/// </summary>
/// <example>
///   <code>Get-KernelOomEvent | Format-Table Time, VictimCommand, VictimProcessId, AnonRssBytes, Constraint, Cgroup</code>
///   <para>Lists the processes the OOM killer killed since boot, with their resident memory and the cgroup concerned.</para>
/// </example>
/// <example>
///   <code>Get-KernelOomEvent -Path /var/log/kern.log* | Where-Object IsMemcg | Group-Object Cgroup | Sort-Object Count -Descending</code>
///   <para>Counts memory-cgroup OOMs per cgroup across the rotated kernel logs: which service keeps hitting its memory limit.</para>
/// </example>
/// <example>
///   <code>Get-KernelOomEvent -Boot -1 | Format-Table Time, VictimCommand, AnonRssBytes, Cgroup</code>
///   <para>The OOM kills of the previous boot, from the systemd journal.</para>
/// </example>
/// <example>
///   <code>Get-KernelMessage -Path ./incident/dmesg.txt | Get-KernelOomEvent | Select-Object -ExpandProperty Lines</code>
///   <para>Shows the full log lines of every OOM event in a saved log.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "KernelOomEvent", DefaultParameterSetName = LiveSet)]
[OutputType(typeof(OomEvent))]
public sealed class GetKernelOomEventCommand : LogSourceCmdlet
{
    private const string InputSet = "InputObject";

    private OomEventParser.OomEventScanner? _scanner;
    private ParseContext _ctx = null!;

    /// <summary>
    /// <para type="description">Kernel messages to search, from Get-KernelMessage, in log order.</para>
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = InputSet, ValueFromPipeline = true)]
    public KernelMessage[] InputObject { get; set; } = [];

    /// <summary>
    /// <para type="description">Page size in bytes of the machine that wrote the log, to convert the Mem-Info page counts. Default: this machine's page size for the live log, 4096 for files and pipeline input.</para>
    /// </summary>
    [Parameter]
    [ValidateRange(512, 1 << 24)]
    public int? PageSize { get; set; }

    /// <inheritdoc />
    protected override void Begin()
    {
        _ctx = new ParseContext("oom");
        int page = PageSize ?? (ParameterSetName == LiveSet ? KernelRoot.PageSize : 4096);
        _scanner = new OomEventParser.OomEventScanner(_ctx, page);
    }

    /// <inheritdoc />
    protected override void Process()
    {
        switch (ParameterSetName)
        {
            case InputSet:
                foreach (var m in InputObject) Push(m);
                break;
            case PathSet:
            case LiteralSet:
                foreach (var source in ResolveSources())
                {
                    ReadSource(source, Push);
                    // Events do not span files.
                    Finish();
                }
                break;
        }
    }

    /// <inheritdoc />
    protected override void End()
    {
        if (ReadsRootJournal) ReadSource(RootJournal(), Push);
        else if (ParameterSetName == LiveSet)
        {
            var ctx = new ParseContext("/dev/kmsg");
            foreach (var m in KernelLog.ReadDevice(KernelRoot, ctx, follow: false, StopToken))
            {
                Push(m);
                if (ctx.Issues.Count > 0) WriteIssues(ctx);
            }
            WriteIssues(ctx);
        }
        Finish();
    }

    private void Push(KernelMessage m)
    {
        if (_scanner!.Push(m) is { } done)
            foreach (var e in done) WriteObject(e);
        if (_ctx.Issues.Count > 0) WriteIssues(_ctx);
    }

    private void Finish()
    {
        if (_scanner!.Finish() is { } e) WriteObject(e);
        WriteIssues(_ctx);
    }
}
