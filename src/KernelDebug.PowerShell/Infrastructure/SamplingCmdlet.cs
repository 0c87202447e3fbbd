using System.Management.Automation;
using KernelDebug.Core.Sampling;

namespace KernelDebug.PowerShell.Infrastructure;

/// <summary>
/// Base of every measuring cmdlet: the sampling parameters as Get-Counter has them (-Duration, -Interval, -Count,
/// -Continuous), declared once here. Not generic, so the help generator finds the parameters' docs under this name.
/// </summary>
public abstract class SamplingCmdlet : KernelCmdlet
{
    /// <summary>
    /// <para type="description">Measures for this long and writes one result for the whole time (with -Interval: a result per interval until then). Without -Duration, -Interval or -Count, measuring runs until Ctrl+C and writes one result.</para>
    /// </summary>
    [Parameter]
    [DurationTransformation]
    public TimeSpan? Duration { get; set; }

    /// <summary>
    /// <para type="description">Writes a sample after this long: one sample alone, -Count N samples, or one per interval with -Continuous or until -Duration. Nothing is lost between samples.</para>
    /// </summary>
    [Parameter]
    [DurationTransformation]
    public TimeSpan? Interval { get; set; }

    /// <summary>
    /// <para type="description">Number of samples to write (at -Interval, default 1 second).</para>
    /// </summary>
    [Parameter]
    public int? Count { get; set; }

    /// <summary>
    /// <para type="description">Writes a sample every -Interval (default 1 second) until Ctrl+C or the pipeline stops.</para>
    /// </summary>
    [Parameter]
    public SwitchParameter Continuous { get; set; }

    /// <summary>The validated sampling plan of the bound parameters (zero or negative times are rejected).</summary>
    protected SamplingPlan Sampling => new SamplingPlan { Duration = Duration, Interval = Interval, Count = Count, Continuous = Continuous }.Validate();
}
