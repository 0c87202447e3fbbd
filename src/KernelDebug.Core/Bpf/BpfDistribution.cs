namespace KernelDebug.Core.Bpf;

/// <summary>A record that counts the events of its interval the kernel could not put in a row (table full, or no memory at hand in interrupt context).</summary>
public interface IUncountedEvents
{
    /// <summary>Events of the interval not counted in any record (the same on every record of the interval).</summary>
    ulong Uncounted { get; }
}

/// <summary>
/// What every aggregating tool's record carries besides its counts: how and when it was measured (attach method,
/// cost, skipped runs, the interval). Declared once so the tools' records, views and warnings agree.
/// </summary>
public abstract record BpfMeasurement
{
    /// <summary>How the programs were attached (RawTp, TpBtf, Tracepoint).</summary>
    public BpfAttachMethod AttachMethod { get; init; }
    /// <summary>BPF nanoseconds per program run (sampled kernel BPF statistics); null when they are off.</summary>
    public double? OverheadPerEvent { get; init; }
    /// <summary>Runs of the tool's programs the kernel skipped in the interval (its recursion guard): events missing from Count.</summary>
    public ulong MissedEvents { get; init; }
    /// <summary>Start of the interval.</summary>
    public DateTimeOffset StartTime { get; init; }
    /// <summary>End of the interval.</summary>
    public DateTimeOffset EndTime { get; init; }
}

/// <summary>
/// What every histogram tool's record carries: the distribution of one group's times over one interval (calls,
/// requests, wakeups, slices), and how it was measured (<see cref="BpfMeasurement"/>).
/// </summary>
public abstract record BpfDistribution : BpfMeasurement
{
    /// <summary>Number of values (calls, requests, wakeups, slices) measured.</summary>
    public ulong Count { get; init; }
    /// <summary>Sum of the values.</summary>
    public TimeSpan Total { get; init; }
    /// <summary>Smallest value.</summary>
    public TimeSpan Min { get; init; }
    /// <summary>Mean value.</summary>
    public TimeSpan Mean { get; init; }
    /// <summary>Median (interpolated in the histogram's bucket).</summary>
    public TimeSpan P50 { get; init; }
    /// <summary>90th percentile (interpolated).</summary>
    public TimeSpan P90 { get; init; }
    /// <summary>99th percentile (interpolated).</summary>
    public TimeSpan P99 { get; init; }
    /// <summary>Largest value.</summary>
    public TimeSpan Max { get; init; }
    /// <summary>The log-linear histogram in nanoseconds; Format-Histogram draws it.</summary>
    public Histogram Histogram { get; init; } = new();

    /// <summary>This record with the count, total and percentiles of <paramref name="h"/> (nanoseconds) and the histogram itself.</summary>
    public BpfDistribution WithDistribution(Histogram h) => this with
    {
        Count = h.Count,
        Total = Tools.BpfToolLoader.FromNanoseconds(h.Sum),
        Min = Tools.BpfToolLoader.FromNanoseconds(h.Min),
        Mean = Tools.BpfToolLoader.FromNanoseconds(h.Mean),
        P50 = Tools.BpfToolLoader.FromNanoseconds(h.P50),
        P90 = Tools.BpfToolLoader.FromNanoseconds(h.P90),
        P99 = Tools.BpfToolLoader.FromNanoseconds(h.P99),
        Max = Tools.BpfToolLoader.FromNanoseconds(h.Max),
        Histogram = h,
    };
}

/// <summary>Typed form of <see cref="BpfDistribution.WithDistribution"/>.</summary>
public static class BpfDistributions
{
    /// <summary><paramref name="record"/> with the statistics of <paramref name="h"/> filled in.</summary>
    public static T Of<T>(this T record, Histogram h) where T : BpfDistribution => (T)record.WithDistribution(h);
}
