using System.Threading.Channels;

namespace KernelDebug.Core.Tracing;

/// <summary>What <see cref="FtraceRunCapture.Run"/> captured while the action ran.</summary>
/// <param name="Events">The decoded events, in time order.</param>
/// <param name="DroppedPages">Pages copied out of the kernel but dropped because the capture was full.</param>
/// <param name="DroppedBytes">Bytes of those pages.</param>
/// <param name="KernelLost">Events the kernel itself lost (ring buffer full before the pages were copied).</param>
public sealed record FtraceRunCaptureResult(List<FtraceEvent> Events, long DroppedPages, long DroppedBytes, long KernelLost);

/// <summary>
/// Traces while an action runs (the pipeline thread runs a script block): a background loop copies the
/// instance's pages out of the kernel as they fill (cheap, so the ring buffer does not overflow) into a bounded
/// channel; a page that finds the channel full is dropped and counted, so memory stays bounded however long the
/// action runs. When the action ends, tracing stops, what the kernel still holds is collected and all of it is
/// decoded at once (in time order across CPUs).
/// </summary>
public static class FtraceRunCapture
{
    /// <summary>Pages kept at most by default (256 MiB of 4 KiB pages).</summary>
    public const int DefaultMaxPages = 65536;

    /// <summary>Runs <paramref name="action"/> while capturing <paramref name="session"/> through <paramref name="reader"/>.</summary>
    /// <param name="session">The capture; it is stopped when the action ends (also on error).</param>
    /// <param name="reader">A reader of the session opened before the action starts.</param>
    /// <param name="action">What to trace.</param>
    /// <param name="maxPages">Pages kept at most; later pages are dropped and counted.</param>
    /// <param name="ct">Stops copying (Ctrl+C); the action itself is the caller's to stop.</param>
    /// <param name="pollInterval">How often the loop looks at empty buffers (default 10 ms).</param>
    public static FtraceRunCaptureResult Run(FtraceSession session, FtraceReader reader, Action action, int maxPages = DefaultMaxPages,
        CancellationToken ct = default, TimeSpan? pollInterval = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPages, 1);
        var poll = pollInterval ?? TimeSpan.FromMilliseconds(10);
        var channel = Channel.CreateBounded<FtraceReader.RawPage>(new BoundedChannelOptions(maxPages)
        {
            SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait, // TryWrite fails when full: counted
        });
        long droppedPages = 0, droppedBytes = 0;
        void Offer(List<FtraceReader.RawPage> batch)
        {
            foreach (var p in batch)
                if (!channel.Writer.TryWrite(p)) { droppedPages++; droppedBytes += p.Bytes.Length; }
        }
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var copier = Task.Run(async () =>
        {
            var batch = new List<FtraceReader.RawPage>();
            while (!stop.IsCancellationRequested)
            {
                batch.Clear();
                if (reader.ReadRawPages(batch, 64) == 0)
                {
                    try { await Task.Delay(poll, stop.Token).ConfigureAwait(false); } catch (OperationCanceledException) { }
                }
                Offer(batch);
            }
        });
        try { action(); }
        finally
        {
            session.Stop();
            stop.Cancel();
            copier.Wait();
        }
        // What the kernel still holds after tracing stopped.
        var rest = new List<FtraceReader.RawPage>();
        while (!ct.IsCancellationRequested && reader.ReadRawPages(rest) > 0) { Offer(rest); rest.Clear(); }
        channel.Writer.Complete();
        var pages = new List<FtraceReader.RawPage>(channel.Reader.Count);
        while (channel.Reader.TryRead(out var page)) pages.Add(page);
        var events = new List<FtraceEvent>();
        reader.Decode(pages, events);
        return new FtraceRunCaptureResult(events, droppedPages, droppedBytes, reader.TotalLost);
    }
}
