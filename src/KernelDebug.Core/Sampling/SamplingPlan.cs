using KernelDebug.Core.Errors;

namespace KernelDebug.Core.Sampling;

/// <summary>
/// When a measuring command writes results, as Get-Counter does: -Duration d = one result for the whole of d;
/// -Interval i alone = one sample after i; -Interval i -Count N = N samples; -Count N alone = N samples at
/// <see cref="DefaultInterval"/>; -Continuous = a sample every interval until stopped; -Duration with -Interval = a
/// sample every interval until d (then the rest). Nothing given = one result when stopped (Ctrl+C).
/// </summary>
public sealed record SamplingPlan
{
    /// <summary>The interval of -Count or -Continuous without -Interval.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(1);
    /// <summary>Shortest interval a kernel measurement can cut.</summary>
    public static readonly TimeSpan MinimumInterval = TimeSpan.FromMilliseconds(10);

    /// <summary>Total time to measure.</summary>
    public TimeSpan? Duration { get; init; }
    /// <summary>Time between samples.</summary>
    public TimeSpan? Interval { get; init; }
    /// <summary>Number of samples.</summary>
    public int? Count { get; init; }
    /// <summary>Samples until stopped.</summary>
    public bool Continuous { get; init; }

    /// <summary>The interval between samples, or null for one result at the end.</summary>
    public TimeSpan? SampleInterval => Interval ?? (Count is not null || Continuous ? DefaultInterval : null);

    /// <summary>Samples to take before stopping; null = no bound (Duration, Continuous or Ctrl+C ends it).</summary>
    public int? SampleLimit => Continuous || Duration is not null ? Count : SampleInterval is null ? null : Count ?? 1;

    /// <summary>True when the run ends only by being stopped (Ctrl+C or the pipeline stopping).</summary>
    public bool UntilStopped => Duration is null && SampleLimit is null;

    /// <summary>Rejects zero or negative durations, intervals and counts, and contradicting combinations.</summary>
    public SamplingPlan Validate()
    {
        // The id the cmdlets' duration check gives (DurationTransformationAttribute), so callers of Core see the same.
        if (Duration is { } d && d <= TimeSpan.Zero)
            throw new KernelDebugException("DurationNotPositive", KernelErrorCategory.InvalidArgument, "-Duration must be positive.", "Give a positive time span, e.g. 00:00:05, or seconds as a number.", d);
        if (Interval is { } i && i <= TimeSpan.Zero)
            throw new KernelDebugException("DurationNotPositive", KernelErrorCategory.InvalidArgument, "-Interval must be positive.", "Give a positive time span, e.g. 00:00:01, or seconds as a number.", i);
        if (Interval is { } j && j < MinimumInterval)
            throw new KernelDebugException("InvalidInterval", KernelErrorCategory.InvalidArgument, $"-Interval must be at least {MinimumInterval.TotalMilliseconds} ms.", null, j);
        if (Count is { } n && n < 1)
            throw new KernelDebugException("InvalidCount", KernelErrorCategory.InvalidArgument, "-Count must be at least 1.", null, n);
        if (Continuous && Count is not null)
            throw new KernelDebugException("SamplingArgumentsConflict", KernelErrorCategory.InvalidArgument,
                "-Count and -Continuous contradict each other.", "Pass -Count N for N samples, or -Continuous to sample until Ctrl+C.", Count);
        return this;
    }

    /// <summary>
    /// The validated plan of a sampling reader's -Interval/-Count/-Continuous (null = not given), or null when none
    /// was given (the reader reads once). Readers have no -Duration: a sample is one interval.
    /// </summary>
    public static SamplingPlan? From(TimeSpan? interval, int? count, bool continuous) =>
        interval is null && count is null && !continuous ? null
        : new SamplingPlan { Interval = interval, Count = count, Continuous = continuous }.Validate();
}
