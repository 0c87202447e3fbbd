using System.Management.Automation;
using KernelDebug.Core.Errors;

namespace KernelDebug.PowerShell.Memory;

/// <summary>
/// The -Interval/-Count loop of the sampling readers, on the pipeline thread: waits with Write-Progress between
/// samples and stops at once on Ctrl+C (the wait is on the cmdlet's StopToken).
/// </summary>
internal static class Sampler
{
    /// <summary>
    /// Calls <paramref name="sample"/> once to take the baseline, then <paramref name="count"/> more times, one
    /// <paramref name="interval"/> apart (count ≤ 0: until Ctrl+C).
    /// </summary>
    public static void Run(PSCmdlet cmdlet, CancellationToken stop, TimeSpan interval, int count, string activity, Action<int> sample)
    {
        if (interval <= TimeSpan.Zero)
            throw new KernelDebugException("IntervalNotPositive", KernelErrorCategory.InvalidArgument, $"-Interval {interval} is not a positive time span.",
                "Pass a positive interval such as 00:00:05 (five seconds).", interval);
        sample(0);
        var progress = new ProgressRecord(Math.Abs(activity.GetHashCode() % 100000), activity, "Sampling");
        for (int i = 1; count <= 0 || i <= count; i++)
        {
            progress.StatusDescription = count > 0 ? $"Sample {i} of {count}: waiting {interval.TotalSeconds:0.###} s" : $"Sample {i}: waiting {interval.TotalSeconds:0.###} s (Ctrl+C stops)";
            progress.PercentComplete = count > 0 ? (int)(100.0 * (i - 1) / count) : -1;
            cmdlet.WriteProgress(progress);
            if (stop.WaitHandle.WaitOne(interval)) break;
            sample(i);
        }
        progress.RecordType = ProgressRecordType.Completed;
        cmdlet.WriteProgress(progress);
    }
}
