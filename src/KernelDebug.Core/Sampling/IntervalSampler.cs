namespace KernelDebug.Core.Sampling;

/// <summary>
/// The one interval loop behind every sampling reader (Get-CpuStat, Get-VmStat, Get-SlabCache, Get-BlockedTask,
/// Get-EdacError): a baseline, then one sample per interval until the plan's count or the stop token.
/// </summary>
public static class IntervalSampler
{
    /// <summary>
    /// Calls <paramref name="sample"/> with 0 for the baseline, then with 1..<see cref="SamplingPlan.SampleLimit"/> one interval apart (until
    /// <paramref name="stop"/> trips when the plan is continuous). <paramref name="waiting"/> is told before each wait
    /// (sample number, seconds remaining or null) so a caller can show progress. Returns the number of samples taken after the baseline.
    /// </summary>
    public static int Run(SamplingPlan plan, CancellationToken stop, Action<int> sample, Action<int, double?>? waiting = null)
    {
        sample(0);
        int taken = 0;
        var interval = plan.SampleInterval ?? SamplingPlan.DefaultInterval;
        for (int i = 1; plan.SampleLimit is not { } n || i <= n; i++)
        {
            double? remaining = plan.SampleLimit is { } c ? (c - i + 1) * interval.TotalSeconds : null;
            waiting?.Invoke(i, remaining);
            if (stop.WaitHandle.WaitOne(interval)) break;
            sample(i);
            taken++;
        }
        return taken;
    }
}
