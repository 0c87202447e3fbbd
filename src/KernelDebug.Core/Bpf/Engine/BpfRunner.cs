using System.Diagnostics;
using KernelDebug.Core.Bpf.Tools;
using KernelDebug.Core.Sampling;

namespace KernelDebug.Core.Bpf.Engine;

/// <summary>
/// Runs a started BPF measurement by a <see cref="SamplingPlan"/>: samples at each interval, stops at the duration,
/// the sample count, a stop request (Ctrl+C) or cancellation, and always finishes the meter. Core owns the loop, so
/// a measurement runs the same without PowerShell. An event tool (<see cref="IBpfEventStream{T}"/>) is polled while
/// waiting, so its records are emitted as they arrive.
/// </summary>
public static class BpfRunner
{
    /// <summary>
    /// Measures with <paramref name="meter"/>. <paramref name="emit"/> gets each sample's records and, unless the
    /// samples were all taken or <paramref name="token"/> was cancelled, the final records. <paramref name="stopRequested"/>
    /// is polled (Ctrl+C in a console: the result is still written); <paramref name="progress"/> gets the elapsed time.
    /// </summary>
    public static void Run<T>(IBpfMeter<T> meter, SamplingPlan plan, Action<IReadOnlyList<T>> emit, CancellationToken token,
        Func<bool>? stopRequested = null, Action<TimeSpan>? progress = null)
    {
        var clock = Stopwatch.StartNew();
        var interval = plan.SampleInterval;
        var next = interval;
        int taken = 0;
        bool allTaken = false;
        TimeSpan? lastProgress = null;
        while (!token.IsCancellationRequested)
        {
            var now = clock.Elapsed;
            if (plan.Duration is { } d && now >= d) break;
            if (stopRequested?.Invoke() == true) break;
            if (next is { } n && now >= n)
            {
                emit(meter.CollectInterval());
                next = n + interval!.Value;
                if (plan.SampleLimit is { } limit && ++taken >= limit) { allTaken = true; break; }
            }
            if (lastProgress is null || now - lastProgress.Value >= TimeSpan.FromMilliseconds(250))
            {
                lastProgress = now;
                progress?.Invoke(now);
            }
            var wait = TimeSpan.FromMilliseconds(50);
            if (plan.Duration is { } d2 && d2 - now < wait) wait = d2 - now;
            if (next is { } n2 && n2 - now < wait) wait = n2 - now;
            if (wait <= TimeSpan.Zero) continue;
            if (meter is IBpfEventStream<T> stream)
            {
                // An event tool waits in its ring buffer: records go out as they arrive.
                var events = stream.Poll(wait);
                if (events.Count > 0) emit(events);
            }
            else token.WaitHandle.WaitOne(wait);
        }
        var final = meter.Finish();
        if (!token.IsCancellationRequested && !allTaken) emit(final);
    }
}
