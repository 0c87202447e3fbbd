using System.Runtime.InteropServices;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Tracing.Native;

namespace KernelDebug.Core.Tracing;

/// <summary>
/// Reads an instance's per-CPU <c>trace_pipe_raw</c> files without blocking and decodes the binary pages into
/// <see cref="FtraceEvent"/>s. Reading consumes: each event is returned once. Lost events are counted per CPU from
/// the pages' missed-events flags.
/// </summary>
public sealed class FtraceReader : IDisposable
{
    private readonly (int Cpu, int Fd)[] _cpus;
    private readonly RingBufferDecoder _decoder;
    private readonly byte[] _page;
    private readonly Dictionary<int, long> _lost = new();
    private readonly FtraceSession _session;
    private Dictionary<int, string>? _cmdlines;
    private DateTime _cmdlinesRead;
    private long _pages;

    internal FtraceReader(FtraceSession session, ParseContext ctx)
    {
        _session = session;
        var catalog = session.Catalog;
        foreach (var ev in session.Events) catalog.Get(ev); // load the formats we expect up front
        _decoder = new RingBufferDecoder(catalog.Layout, catalog.ById, CommandOf, ctx)
        {
            ClockMapping = session.ClockMapping,
            ClockName = session.Clock,
        };
        int subbuf = int.TryParse(session.ReadInstance("buffer_subbuf_size_kb")?.Trim(), out int kb) && kb > 0 ? kb * 1024 : session.TraceFs.Root.PageSize;
        _page = new byte[Math.Max(subbuf, 4096)];
        var list = new List<(int, int)>();
        try
        {
            foreach (var entry in session.TraceFs.Root.EnumerateEntries(session.TraceFs.Relative(session.RelativeDirectory + "/per_cpu"), "cpu*"))
            {
                if (!int.TryParse(entry.AsSpan(3), out int cpu)) continue;
                string path = session.PathOf($"per_cpu/{entry}/trace_pipe_raw");
                int fd = LibC.Open(path, LibC.O_RDONLY | LibC.O_NONBLOCK | LibC.O_CLOEXEC);
                if (fd < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == LibC.ENOENT || errno == LibC.ENODEV) continue; // offline CPU
                    throw new KernelDebugException("FtraceReadFailed", KernelErrorCategory.ReadError,
                        $"Opening '{path}' failed: {LibC.Describe(errno)}.", null, path);
                }
                list.Add((cpu, fd));
            }
        }
        catch
        {
            foreach (var (_, fd) in list) LibC.Close(fd);
            throw;
        }
        _cpus = list.OrderBy(c => c.Item1).ToArray();
        if (_cpus.Length == 0)
            throw new KernelDebugException("FtraceNoCpuBuffers", KernelErrorCategory.ResourceUnavailable,
                $"The instance {session.Name} has no per_cpu/cpuN/trace_pipe_raw files.", null, session.Directory);
    }

    /// <summary>The decoder (exposed for filtering by id).</summary>
    public RingBufferDecoder Decoder => _decoder;

    /// <summary>Events lost per CPU, as the pages' missed-events counts reported them (a flag without a count counts 1).</summary>
    public IReadOnlyDictionary<int, long> LostEvents => _lost;

    /// <summary>Total events lost.</summary>
    public long TotalLost => _lost.Values.Sum();

    /// <summary>Pages read so far.</summary>
    public long PagesRead => _pages;

    /// <summary>
    /// Reads every page available now from every CPU (at most <paramref name="maxPagesPerCpu"/> each) and appends the
    /// decoded events, ordered by timestamp within this batch. Returns the number of pages read (0: nothing waiting).
    /// </summary>
    public unsafe int ReadAvailable(List<FtraceEvent> output, int maxPagesPerCpu = 256)
    {
        int pages = 0;
        int start = output.Count;
        foreach (var (cpu, fd) in _cpus)
        {
            for (int i = 0; i < maxPagesPerCpu; i++)
            {
                nint n;
                fixed (byte* p = _page) n = LibC.Read(fd, p, (nuint)_page.Length);
                if (n < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == LibC.EINTR) continue;
                    if (errno == LibC.EAGAIN) break;
                    throw new KernelDebugException("FtraceReadFailed", KernelErrorCategory.ReadError,
                        $"Reading cpu{cpu}/trace_pipe_raw of {_session.Name} failed: {LibC.Describe(errno)}.", null, _session.Directory);
                }
                if (n == 0) break;
                pages++;
                var info = _decoder.DecodePage(_page.AsSpan(0, (int)n), cpu, output, _pages++);
                if (info.MissedEvents) _lost[cpu] = _lost.GetValueOrDefault(cpu) + (info.MissedCount ?? 1);
            }
        }
        if (pages > 0 && _cpus.Length > 1 && output.Count - start > 1)
            output.Sort(start, output.Count - start, Comparer<FtraceEvent>.Create((a, b) => a.TimestampNanoseconds.CompareTo(b.TimestampNanoseconds)));
        return pages;
    }

    /// <summary>
    /// Streams events to <paramref name="sink"/> until <paramref name="duration"/> passes, <paramref name="count"/>
    /// events were delivered, or <paramref name="ct"/> is cancelled; polls every <paramref name="pollInterval"/> when
    /// the buffers are empty. With <paramref name="stopTracingAtEnd"/>, tracing is turned off when the window ends
    /// and what was still buffered is delivered. Returns the number of events delivered.
    /// </summary>
    public async Task<long> StreamAsync(Func<FtraceEvent, ValueTask> sink, TimeSpan? duration, long? count, bool stopTracingAtEnd,
        CancellationToken ct, TimeSpan? pollInterval = null)
    {
        var poll = pollInterval ?? TimeSpan.FromMilliseconds(50);
        var deadline = duration is TimeSpan d ? DateTime.UtcNow + d : (DateTime?)null;
        var batch = new List<FtraceEvent>();
        long delivered = 0;
        bool final = false;
        while (true)
        {
            bool timeUp = deadline is DateTime dl && DateTime.UtcNow >= dl;
            if ((timeUp || ct.IsCancellationRequested) && !final)
            {
                if (stopTracingAtEnd) _session.Stop();
                final = true; // one more pass drains what was recorded inside the window
            }
            batch.Clear();
            int pages = ReadAvailable(batch);
            foreach (var ev in batch)
            {
                if (count is long c && delivered >= c) break;
                if (ct.IsCancellationRequested && !final) break;
                await sink(ev).ConfigureAwait(false);
                delivered++;
            }
            if (count is long max && delivered >= max) { if (stopTracingAtEnd) _session.Stop(); break; }
            if (final && pages == 0) break;
            if (pages == 0)
            {
                var wait = poll;
                if (deadline is DateTime dl2) { var left = dl2 - DateTime.UtcNow; if (left < wait) wait = left > TimeSpan.Zero ? left : TimeSpan.Zero; }
                try { await Task.Delay(wait, ct).ConfigureAwait(false); }
                catch (OperationCanceledException) { }
            }
        }
        ct.ThrowIfCancellationRequested();
        return delivered;
    }

    private string? CommandOf(int pid)
    {
        if (_cmdlines is null || (!_cmdlines.ContainsKey(pid) && DateTime.UtcNow - _cmdlinesRead > TimeSpan.FromMilliseconds(500)))
        {
            string? text = _session.TraceFs.Root.TryReadText(_session.TraceFs.Relative("saved_cmdlines"));
            _cmdlines = text is null ? new() : SavedCmdlinesParser.Parse(text, new ParseContext("saved_cmdlines"));
            _cmdlinesRead = DateTime.UtcNow;
        }
        return _cmdlines.GetValueOrDefault(pid);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var (_, fd) in _cpus) LibC.Close(fd);
    }
}
