using KernelDebug.Core.Errors;

namespace KernelDebug.Core.Sampling;

/// <summary>
/// How a sampling reader samples, with Get-Counter's rules: <c>-Interval i</c> alone is one sample, <c>-Interval i
/// -Count N</c> is N, <c>-Count N</c> alone is N at <see cref="DefaultInterval"/>, <c>-Continuous</c> runs until stopped.
/// A sample here is one interval: readers that report changes take a baseline first.
/// </summary>
/// <param name="Interval">Time between samples.</param>
/// <param name="Count">Samples to take, or null to run until stopped.</param>
public sealed record SamplingPlan(TimeSpan Interval, int? Count)
{
    /// <summary>The interval used when only -Count or -Continuous is given.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(1);

    /// <summary>True when sampling runs until stopped.</summary>
    public bool Continuous => Count is null;

    /// <summary>
    /// The plan for the parameters a user bound (null = not given), or null when none was given (not sampling).
    /// </summary>
    /// <exception cref="KernelDebugException">SamplingArgumentsConflict (-Count with -Continuous), IntervalNotPositive or CountNotPositive.</exception>
    public static SamplingPlan? From(TimeSpan? interval, int? count, bool continuous)
    {
        if (interval is null && count is null && !continuous) return null;
        if (continuous && count is not null)
            throw new KernelDebugException("SamplingArgumentsConflict", KernelErrorCategory.InvalidArgument,
                "-Count and -Continuous contradict each other.", "Pass -Count N for N samples, or -Continuous to sample until Ctrl+C.", count);
        if (interval is { } i && i <= TimeSpan.Zero)
            throw new KernelDebugException("IntervalNotPositive", KernelErrorCategory.InvalidArgument, $"-Interval {i} is not a positive time span.",
                "Pass a positive interval: a number of seconds (5) or a time span (00:00:05).", i);
        if (count is <= 0)
            throw new KernelDebugException("CountNotPositive", KernelErrorCategory.InvalidArgument, $"-Count {count} is not positive.",
                "Pass -Count 1 or more, or -Continuous to sample until Ctrl+C.", count);
        return new SamplingPlan(interval ?? DefaultInterval, continuous ? null : count ?? 1);
    }
}

/// <summary>
/// The one interval loop behind every sampling reader (Get-CpuStat, Get-VmStat, Get-SlabCache, Get-BlockedTask,
/// Get-EdacError): a baseline, then one sample per interval until the plan's count or the stop token.
/// </summary>
public static class IntervalSampler
{
    /// <summary>
    /// Calls <paramref name="sample"/> with 0 for the baseline, then with 1..Count one interval apart (until
    /// <paramref name="stop"/> trips when the plan is continuous). <paramref name="waiting"/> is told before each wait
    /// (sample number, seconds remaining or null) so a caller can show progress. Returns the number of samples taken after the baseline.
    /// </summary>
    public static int Run(SamplingPlan plan, CancellationToken stop, Action<int> sample, Action<int, double?>? waiting = null)
    {
        sample(0);
        int taken = 0;
        for (int i = 1; plan.Count is not { } n || i <= n; i++)
        {
            double? remaining = plan.Count is { } c ? (c - i + 1) * plan.Interval.TotalSeconds : null;
            waiting?.Invoke(i, remaining);
            if (stop.WaitHandle.WaitOne(plan.Interval)) break;
            sample(i);
            taken++;
        }
        return taken;
    }
}
