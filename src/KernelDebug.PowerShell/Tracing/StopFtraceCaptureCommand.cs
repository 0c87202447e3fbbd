using System.Management.Automation;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Tracing;

namespace KernelDebug.PowerShell.Tracing;

/// <summary>
/// <para type="synopsis">Stops recording in an ftrace capture and keeps its buffer for reading.</para>
/// <para type="description">Stop-FtraceCapture turns tracing off (tracing_on = 0) in the capture's own tracefs instance; the events already recorded stay in the buffer for Receive-FtraceCapture. The global tracer is never touched. With -PassThru it returns the updated capture.</para>
/// </summary>
/// <example>
///   <code>Stop-FtraceCapture -Name nginx-open; Receive-FtraceCapture -Name nginx-open | Measure-Object</code>
///   <para>Stops a capture and counts what it recorded.</para>
/// </example>
/// <example>
///   <code>Get-FtraceCapture | Stop-FtraceCapture -PassThru</code>
///   <para>Stops every running capture and shows them.</para>
/// </example>
[Cmdlet(VerbsLifecycle.Stop, "FtraceCapture", SupportsShouldProcess = true)]
[OutputType(typeof(FtraceCapture))]
public sealed class StopFtraceCaptureCommand : FtraceCmdlet
{
    /// <summary>
    /// <para type="description">Captures to stop, with or without the kerneldebug- prefix; wildcards allowed. Binds from piped capture records.</para>
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    public string[] Name { get; set; } = Array.Empty<string>();

    /// <summary>
    /// <para type="description">Return the stopped captures.</para>
    /// </summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void Process()
    {
        var patterns = Patterns(Name);
        var matched = FtraceSession.List(TraceFs).Where(c => NameMatches(c.Name, patterns)).ToList();
        if (matched.Count == 0 && !Name.Any(WildcardPattern.ContainsWildcardCharacters))
            ThrowKernelError(new Core.Errors.KernelDebugException("FtraceCaptureNotFound", Core.Errors.KernelErrorCategory.ObjectNotFound,
                $"There is no capture named '{string.Join(", ", Name)}'.", "List captures with Get-FtraceCapture.", Name));
        foreach (var c in matched)
        {
            if (!ShouldProcess(c.Instance, "Stop tracing")) continue;
            using var s = FtraceSession.Open(TraceFs, c.Name, new ParseContext(c.Instance));
            s.Stop();
            if (PassThru) WriteObject(FtraceSession.Describe(TraceFs, c.Name));
        }
    }
}
