using System.Management.Automation;
using KernelDebug.Core.Tracing;

namespace KernelDebug.PowerShell.Tracing;

/// <summary>
/// <para type="synopsis">Lists the ftrace captures (tracefs instances) KernelDebug made, including orphans left by a process that was killed.</para>
/// <para type="description">Get-FtraceCapture lists the tracefs instances named kerneldebug-*, with the events they record, their state (Running, Stopped, or Orphaned when the owning process is gone), the owner's process id, the per-CPU buffer size, the events waiting in the buffers and the events the kernel lost. Instances made by other tools are not listed. Pipe the result to Receive-FtraceCapture, Stop-FtraceCapture or Remove-FtraceCapture.</para>
/// </summary>
/// <example>
///   <code>Get-FtraceCapture</code>
///   <para>Lists every capture with its state and lost-event count.</para>
/// </example>
/// <example>
///   <code>Get-FtraceCapture | Where-Object State -eq Orphaned | Remove-FtraceCapture</code>
///   <para>Deletes the captures whose owner process no longer exists.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "FtraceCapture")]
[OutputType(typeof(FtraceCapture))]
public sealed class GetFtraceCaptureCommand : FtraceCmdlet
{
    /// <summary>
    /// <para type="description">Capture names to list, with or without the kerneldebug- prefix; wildcards allowed. Default: all.</para>
    /// </summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    public string[]? Name { get; set; }

    /// <inheritdoc />
    protected override void Process()
    {
        var patterns = Patterns(Name);
        foreach (var c in FtraceSession.List(TraceFs))
            if (NameMatches(c.Name, patterns)) WriteObject(c);
    }
}
