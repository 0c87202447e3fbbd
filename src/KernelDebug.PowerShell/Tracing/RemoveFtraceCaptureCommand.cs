using System.Management.Automation;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Tracing;

namespace KernelDebug.PowerShell.Tracing;

/// <summary>
/// <para type="synopsis">Deletes ftrace captures: their tracefs instances and owner markers.</para>
/// <para type="description">Remove-FtraceCapture stops a capture and removes its tracefs instance (rmdir instances/NAME), which frees its buffers, and deletes its owner marker. -Orphaned removes every capture whose owning process no longer exists (left by a killed or crashed session). Only instances KernelDebug made (named kerneldebug-*) are ever removed. With -PassThru the removed captures are returned.</para>
/// </summary>
/// <example>
///   <code>Remove-FtraceCapture -Name nginx-open</code>
///   <para>Deletes the capture kerneldebug-nginx-open.</para>
/// </example>
/// <example>
///   <code>Remove-FtraceCapture -Orphaned -WhatIf</code>
///   <para>Shows which leftover captures of dead processes would be deleted.</para>
/// </example>
/// <example>
///   <code>Get-FtraceCapture | Remove-FtraceCapture</code>
///   <para>Deletes every capture.</para>
/// </example>
[Cmdlet(VerbsCommon.Remove, "FtraceCapture", SupportsShouldProcess = true, DefaultParameterSetName = "Name")]
[OutputType(typeof(FtraceCapture))]
public sealed class RemoveFtraceCaptureCommand : FtraceCmdlet
{
    /// <summary>
    /// <para type="description">Captures to remove, with or without the kerneldebug- prefix; wildcards allowed. Binds from piped capture records.</para>
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Name", ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    public string[] Name { get; set; } = Array.Empty<string>();

    /// <summary>
    /// <para type="description">Remove every capture whose owner process is gone.</para>
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = "Orphaned")]
    public SwitchParameter Orphaned { get; set; }

    /// <summary>
    /// <para type="description">Return the removed captures.</para>
    /// </summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void Process()
    {
        // Markers whose instance is already gone (trace-cmd extract deletes the instance it read) are our own
        // bookkeeping with nothing left to describe: drop them.
        FtraceSession.DeleteStaleMarkers(TraceFs);
        var all = FtraceSession.List(TraceFs);
        List<FtraceCapture> matched;
        if (Orphaned)
        {
            matched = all.Where(c => c.State == FtraceCaptureState.Orphaned).ToList();
        }
        else
        {
            var patterns = Patterns(Name);
            matched = all.Where(c => NameMatches(c.Name, patterns)).ToList();
            if (matched.Count == 0 && !Name.Any(WildcardPattern.ContainsWildcardCharacters))
                WriteKernelError(new KernelDebugException("FtraceCaptureNotFound", KernelErrorCategory.ObjectNotFound,
                    $"There is no capture named '{string.Join(", ", Name)}'.", "List captures with Get-FtraceCapture.", Name));
        }
        foreach (var c in matched)
        {
            if (!ShouldProcess(c.Instance, "Remove tracefs instance")) continue;
            try
            {
                FtraceSession.RemoveInstance(TraceFs, c.Name);
                WriteVerbose($"Removed {c.Instance}.");
                if (PassThru) WriteObject(c);
            }
            catch (KernelDebugException e) { WriteKernelError(e); }
        }
    }
}
