using System.Management.Automation;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Tracing;

using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Tracing;

/// <summary>
/// <para type="synopsis">Reads the events of an ftrace capture as typed FtraceEvent records, decoded from the kernel's binary ring buffer.</para>
/// <para type="description">Receive-FtraceCapture reads the per-CPU trace_pipe_raw files of a capture's tracefs instance and decodes the binary pages with each event's format file into FtraceEvent records: timestamp on the trace clock and as wall-clock time, CPU, process id and command, event name, the context flags (irqs-off, need-resched, hardirq/softirq, preempt depth) and the event's fields as typed values. Reading consumes: each event is returned once. Without -Wait it returns what is buffered now; with -Wait it keeps streaming until Ctrl+C or until -Duration has passed. Events the kernel lost (the buffer was full) are counted from the pages' missed-events flags and reported as a warning.</para>
/// </summary>
/// <example>
///   <code>Get-FtraceCapture | Receive-FtraceCapture | Group-Object Name</code>
///   <para>Counts the buffered events of every capture by event name.</para>
/// </example>
/// <example>
///   <code>Receive-FtraceCapture -Name nginx-open -Wait -Duration 00:00:30 | Where-Object { $_.Fields.id -eq 257 } | Select-Object Time, ProcessId, Command</code>
///   <para>Streams the capture kerneldebug-nginx-open for 30 seconds.</para>
/// </example>
[Cmdlet(VerbsCommunications.Receive, "FtraceCapture", DefaultParameterSetName = "Name")]
[OutputType(typeof(FtraceEvent))]
public sealed class ReceiveFtraceCaptureCommand : FtraceCmdlet
{
    /// <summary>
    /// <para type="description">The capture to read, as returned by Start-FtraceCapture or Get-FtraceCapture.</para>
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = "Capture", ValueFromPipeline = true, Position = 0)]
    public FtraceCapture Capture { get; set; } = null!;

    /// <summary>
    /// <para type="description">Name of the capture's instance (with or without the kerneldebug- prefix). Binds from the Name property of piped capture records.</para>
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = "Name", ValueFromPipelineByPropertyName = true, Position = 0)]
    public string Name { get; set; } = "";

    /// <summary>
    /// <para type="description">Keep reading as events arrive, until Ctrl+C or -Duration.</para>
    /// </summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    /// <summary>
    /// <para type="description">How long to keep reading (implies -Wait).</para>
    /// </summary>
    [Parameter]
    [DurationTransformation]
    public TimeSpan? Duration { get; set; }

    /// <inheritdoc />
    protected override void Process()
    {
        string name = ParameterSetName == "Capture" ? Capture.Name : Name;
        if (!FtraceSession.IsOurs(name)) name = FtraceOwnerMarker.InstancePrefix + name;
        var fs = TraceFs;
        TimeSpan? window = Duration ?? (Wait ? null : TimeSpan.Zero);
        Pump(async (writer, ct) =>
        {
            var ctx = new ParseContext($"{fs.Path}/instances/{name}");
            using var session = FtraceSession.Open(fs, name, ctx);
            using var reader = session.OpenReader(ctx);
            await reader.StreamAsync(async ev =>
            {
                if (ctx.Issues.Count > 0) foreach (var i in ctx.Drain()) await writer.WriteAsync(i, ct);
                await writer.WriteAsync(ev, ct);
            }, window, null, stopTracingAtEnd: false, ct).ConfigureAwait(false);
            foreach (var i in ctx.Drain()) await writer.WriteAsync(i, ct);
            if (reader.TotalLost > 0)
                await writer.WriteAsync(new ParseIssue(name, 0, $"the kernel lost {reader.TotalLost} event(s) ({string.Join(", ", reader.LostEvents.Select(kv => $"cpu{kv.Key}: {kv.Value}"))}); give the capture a larger -BufferSize or read it more often", null), ct);
        });
    }
}
