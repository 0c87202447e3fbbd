using System.Management.Automation;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Tracing;

using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Tracing;

/// <summary>
/// <para type="synopsis">Traces kernel events for a while, or while a script block runs, and returns them; the one-shot form of Start/Receive/Remove-FtraceCapture.</para>
/// <para type="description">Trace-KernelEvent creates a private tracefs instance for the events given by -Event, streams the decoded FtraceEvent records while -Duration runs (or until -Count events were seen, or until Ctrl+C), then stops and removes the instance. With -ScriptBlock it traces only while the script block runs and returns the events afterwards (the script block's own output is discarded). The instance is removed on success, on error and on Ctrl+C. Lost events are reported as a warning.</para>
/// </summary>
/// <example>
///   <code>Trace-KernelEvent -Event sched:sched_process_exec -Duration 00:00:10 | Select-Object Time, ProcessId, @{ n = 'File'; e = { $_.Fields.filename } }</code>
///   <para>Shows every program started in the next ten seconds.</para>
/// </example>
/// <example>
///   <code>Trace-KernelEvent -Event raw_syscalls:sys_enter -ScriptBlock { Get-Content /etc/hostname } | Group-Object { $_.Fields.id } | Sort-Object Count -Descending</code>
///   <para>Counts the system calls made on the whole machine while a command runs, by syscall number.</para>
/// </example>
/// <example>
///   <code>Trace-KernelEvent -Event 'block:block_rq_issue' -Count 100 -Filter 'bytes > 65536'</code>
///   <para>Returns the first 100 block requests larger than 64 KiB.</para>
/// </example>
[Cmdlet(VerbsDiagnostic.Trace, "KernelEvent", SupportsShouldProcess = true)]
[OutputType(typeof(FtraceEvent))]
public sealed class TraceKernelEventCommand : FtraceSelectionCmdlet
{
    private FtraceSession? _session;

    /// <summary>
    /// <para type="description">Events to trace, as system:event; wildcards allowed in both parts. Tab completion lists the kernel's events.</para>
    /// </summary>
    [Parameter(Mandatory = true, Position = 0)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(TracepointCompleter))]
    public string[] Event { get; set; } = Array.Empty<string>();

    /// <summary>
    /// <para type="description">How long to trace. Without -Duration, -Count or -ScriptBlock, tracing runs until Ctrl+C.</para>
    /// </summary>
    [Parameter]
    [DurationTransformation]
    public TimeSpan? Duration { get; set; }

    /// <summary>
    /// <para type="description">Stop after this many events.</para>
    /// </summary>
    [Parameter]
    [ValidateRange(1, long.MaxValue)]
    public long? Count { get; set; }

    /// <summary>
    /// <para type="description">Trace while this script block runs; its output is discarded. Pages are copied out of the kernel while it runs and decoded when it ends; at most 65,536 pages (256 MiB) are kept, and pages beyond that are dropped with a warning that counts them.</para>
    /// </summary>
    [Parameter]
    public ScriptBlock? ScriptBlock { get; set; }

    /// <inheritdoc />
    protected override void End()
    {
        if (!ShouldProcess($"a temporary tracefs instance in {TraceFs.Path}/instances", $"Trace {string.Join(", ", Event)}")) return;
        var ctx = new ParseContext(TraceFs.Path);
        _session = FtraceSession.Create(TraceFs, new FtraceCaptureOptions
        {
            Events = Event, Filter = Filter, ProcessIds = ProcessId, Cpus = Cpu, BufferSize = BufferSize,
        }, ctx);
        WriteIssues(ctx);
        WriteVerbose($"Tracing {string.Join(", ", _session.Events)} in {_session.Directory}.");
        if (ScriptBlock is not null) TraceScriptBlock(_session, ctx);
        else Stream(_session, ctx);
    }

    private void Stream(FtraceSession session, ParseContext ctx)
    {
        var duration = Duration;
        var count = Count;
        Pump(async (writer, ct) =>
        {
            using var reader = session.OpenReader(ctx);
            using var done = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var started = DateTime.UtcNow;
            Task progress = duration is TimeSpan d ? Task.Run(async () =>
            {
                var pr = new ProgressRecord(1, "Trace-KernelEvent", "Tracing " + string.Join(", ", session.Events));
                while (!done.IsCancellationRequested)
                {
                    var elapsed = DateTime.UtcNow - started;
                    pr.PercentComplete = (int)Math.Clamp(elapsed / d * 100, 0, 100);
                    pr.SecondsRemaining = (int)Math.Max(0, (d - elapsed).TotalSeconds);
                    writer.TryWrite(pr);
                    try { await Task.Delay(1000, done.Token); } catch (OperationCanceledException) { }
                }
            }) : Task.CompletedTask;
            try
            {
                await reader.StreamAsync(async ev =>
                {
                    if (ctx.Issues.Count > 0) foreach (var i in ctx.Drain()) await writer.WriteAsync(i, ct);
                    await writer.WriteAsync(ev, ct);
                }, duration, count, stopTracingAtEnd: true, ct).ConfigureAwait(false);
            }
            finally
            {
                done.Cancel();
                await progress;
            }
            if (duration is not null) writer.TryWrite(new ProgressRecord(1, "Trace-KernelEvent", "Done") { RecordType = ProgressRecordType.Completed });
            foreach (var i in ctx.Drain()) await writer.WriteAsync(i, ct);
            if (reader.TotalLost > 0)
                await writer.WriteAsync(new ParseIssue(session.Name, 0, $"the kernel lost {reader.TotalLost} event(s); trace with a larger -BufferSize", null), ct);
        });
    }

    private void TraceScriptBlock(FtraceSession session, ParseContext ctx)
    {
        using var reader = session.OpenReader(ctx);
        var result = FtraceRunCapture.Run(session, reader, () => ScriptBlock!.Invoke(), FtraceRunCapture.DefaultMaxPages, StopToken);
        WriteIssues(ctx);
        long n = 0;
        foreach (var e in result.Events)
        {
            if (Count is long c && n++ >= c) break;
            WriteObject(e);
        }
        if (result.KernelLost > 0) WriteWarning($"The kernel lost {result.KernelLost} event(s); trace with a larger -BufferSize.");
        if (result.DroppedPages > 0)
            WriteWarning($"Dropped {result.DroppedPages} page(s) ({result.DroppedBytes} bytes) of events: a -ScriptBlock capture keeps at most {FtraceRunCapture.DefaultMaxPages} pages; trace a shorter script block, narrow -Event/-Filter, or stream with -Duration.");
    }

    /// <inheritdoc />
    protected override void Cleanup()
    {
        // Ctrl+C calls this while a reader may still hold the instance open; then removal is retried on the next call.
        _session?.Dispose();
        if (_session is { IsRemoved: true } or { RemoveOnDispose: false }) _session = null;
    }
}
