using System.Management.Automation;
using KernelDebug.Core.Sampling;

namespace KernelDebug.PowerShell.Infrastructure;

/// <summary>
/// Base of the readers that can also sample (Get-VmStat, Get-SlabCache, Get-BlockedTask, Get-EdacError): -Interval,
/// -Count and -Continuous as Get-Counter has them, declared once here, all in the <see cref="IntervalSet"/> parameter
/// set. Not generic, so the help generator finds the parameters' docs under this name. PowerShell lists a base
/// class's parameters after the cmdlet's own, so a reader whose syntax shows other parameters after these (Get-CpuStat,
/// whose -PerCpu comes after -Continuous) declares its own.
/// </summary>
public abstract class SamplingReaderCmdlet : KernelReaderCmdlet
{
    /// <summary>The parameter set of the sampling parameters.</summary>
    protected const string IntervalSet = "Interval";

    /// <summary>
    /// <para type="description">Time between samples: seconds as a number (5) or a time span (00:00:05). Alone it takes one sample (as Get-Counter does); with -Count N, N samples; with -Continuous, until Ctrl+C.</para>
    /// </summary>
    [Parameter(ParameterSetName = IntervalSet)]
    [DurationTransformation]
    public TimeSpan Interval { get; set; }

    /// <summary>
    /// <para type="description">Number of samples to take (1 s apart unless -Interval says otherwise).</para>
    /// </summary>
    [Parameter(ParameterSetName = IntervalSet)]
    [ValidateRange(1, int.MaxValue)]
    public int Count { get; set; }

    /// <summary>
    /// <para type="description">Samples until Ctrl+C (1 s apart unless -Interval says otherwise).</para>
    /// </summary>
    [Parameter(ParameterSetName = IntervalSet)]
    public SwitchParameter Continuous { get; set; }

    /// <summary>The plan of -Interval/-Count/-Continuous as bound, or null when none of them was given.</summary>
    protected SamplingPlan? Plan => Sampler.Plan(this, Interval, Count, Continuous);

    /// <summary>
    /// Samples per <see cref="Plan"/> with Write-Progress named after the command: <paramref name="sample"/>
    /// gets 0 for the baseline, then 1..Count.
    /// </summary>
    protected void Sample(Action<int> sample) =>
        Sampler.Run(this, StopToken, Plan!, MyInvocation.MyCommand.Name, sample);
}
