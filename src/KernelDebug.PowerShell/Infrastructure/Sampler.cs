using System.Management.Automation;
using KernelDebug.Core.Sampling;

namespace KernelDebug.PowerShell.Infrastructure;

/// <summary>
/// Runs Core's <see cref="IntervalSampler"/> on the pipeline thread with Write-Progress between samples; Ctrl+C
/// (the cmdlet's StopToken) ends the wait at once.
/// </summary>
internal static class Sampler
{
    /// <summary>Samples per <paramref name="plan"/>: <paramref name="sample"/> gets 0 for the baseline, then 1..Count.</summary>
    public static void Run(PSCmdlet cmdlet, CancellationToken stop, SamplingPlan plan, string activity, Action<int> sample)
    {
        int id = Math.Abs(activity.GetHashCode() % 100000);
        // A new record per write: hosts (and tests) may keep the ones already written.
        double seconds = (plan.SampleInterval ?? SamplingPlan.DefaultInterval).TotalSeconds;
        IntervalSampler.Run(plan, stop, sample, (i, remaining) => cmdlet.WriteProgress(new ProgressRecord(id, activity,
            plan.SampleLimit is { } n
                ? $"Sample {i} of {n}: waiting {seconds:0.###} s"
                : $"Sample {i}: waiting {seconds:0.###} s (Ctrl+C stops)")
        {
            PercentComplete = plan.SampleLimit is { } c ? (int)(100.0 * (i - 1) / c) : -1,
            SecondsRemaining = remaining is { } r ? (int)Math.Ceiling(r) : -1,
        }));
        cmdlet.WriteProgress(new ProgressRecord(id, activity, "Done") { RecordType = ProgressRecordType.Completed });
    }

    /// <summary>
    /// The plan for a cmdlet's -Interval/-Count/-Continuous as bound (unbound parameters count as not given), or null
    /// when none of them was given.
    /// </summary>
    public static SamplingPlan? Plan(PSCmdlet cmdlet, TimeSpan interval, int count, bool continuous)
    {
        var bound = cmdlet.MyInvocation.BoundParameters;
        return SamplingPlan.From(bound.ContainsKey("Interval") ? interval : null, bound.ContainsKey("Count") ? count : null, continuous);
    }
}
