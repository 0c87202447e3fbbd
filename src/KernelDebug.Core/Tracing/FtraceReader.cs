using System.Runtime.InteropServices;
using System.Threading.Channels;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Native;

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
    private readonly Dictionary<int, long> _baseline = new();
    private readonly FtraceSession _session;
    private Dictionary<int, string>? _cmdlines;
    private DateTime _cmdlinesRead;
    private long _pages;

    private readonly ParseContext _ctx;

    internal FtraceReader(FtraceSession session, ParseContext ctx)
    {
        _session = session;
        _ctx = ctx;
        var catalog = session.Catalog;
        foreach (var ev in session.Events) catalog.Get(ev); // load the formats we expect up front
        _decoder = new RingBufferDecoder(catalog.Layout, catalog.ById, CommandOf, ctx)
        {
            ClockMapping = session.ClockMapping,
            ClockName = session.Clock,
        };
        if (session.Events.Contains("ftrace:function"))
        {
            if (Symbols.KernelSymbolTable.TryLoad(session.TraceFs.Root) is { } syms) _decoder.Symbolize = syms.Symbolize;
        }
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
        foreach (var (cpu, _) in _cpus) if (ReadLost(cpu) is long l) _baseline[cpu] = l;
        if (_cpus.Length == 0)
        {
            // Fallback: the text trace_pipe. It says so, because fields come out as text and flags approximate.
            string pipe = session.PathOf("trace_pipe");
            int fd = LibC.Open(pipe, LibC.O_RDONLY | LibC.O_NONBLOCK | LibC.O_CLOEXEC);
            if (fd < 0)
                throw new KernelDebugException("FtraceNoCpuBuffers", KernelErrorCategory.ResourceUnavailable,
                    $"The instance {session.Name} has neither per_cpu/cpuN/trace_pipe_raw files nor a readable trace_pipe.", null, session.Directory);
            ctx.Warn(0, $"the binary per-CPU buffers of {session.Name} cannot be read; falling back to the text trace_pipe (fields are decoded from text, lost events are not counted)");
            _cpus = [(TextCpu, fd)];
            IsTextFallback = true;
        }
    }

    private const int TextCpu = -1;
    private string _textRest = "";
    private int _textLine;

    /// <summary>True when events come from the text trace_pipe because the binary buffers were unavailable.</summary>
    public bool IsTextFallback { get; }

    /// <summary>The decoder (exposed for filtering by id).</summary>
    public RingBufferDecoder Decoder => _decoder;

    /// <summary>
    /// Events lost per CPU since this reader opened: the kernel's own counters (per_cpu/cpuN/stats overrun, commit
    /// overrun and dropped events) when readable, else the pages' missed-events counts (a flag whose count the kernel
    /// had no room to store counts as 1).
    /// </summary>
    public IReadOnlyDictionary<int, long> LostEvents
    {
        get
        {
            var result = new Dictionary<int, long>();
            foreach (var (cpu, _) in _cpus)
            {
                long fromPages = _lost.GetValueOrDefault(cpu);
                long fromStats = ReadLost(cpu) is long now && _baseline.TryGetValue(cpu, out long then) ? now - then : 0;
                long lost = Math.Max(fromPages, fromStats);
                if (lost > 0) result[cpu] = lost;
            }
            return result;
        }
    }

    /// <summary>Total events lost since this reader opened.</summary>
    public long TotalLost => LostEvents.Values.Sum();

    private long? ReadLost(int cpu)
    {
        string? text = _session.ReadInstance($"per_cpu/cpu{cpu}/stats");
        return text is null ? null : TraceBufferStats.Parse(cpu, text, new ParseContext("stats")).Lost;
    }

    /// <summary>Pages read so far.</summary>
    public long PagesRead => _pages;

    /// <summary>
    /// Reads every page available now from every CPU (at most <paramref name="maxPagesPerCpu"/> each) and appends the
    /// decoded events, ordered by timestamp within this batch. Returns the number of pages read (0: nothing waiting).
    /// </summary>
    public int ReadAvailable(List<FtraceEvent> output, int maxPagesPerCpu = 256)
    {
        var pages = new List<RawPage>();
        int n = ReadRawPages(pages, maxPagesPerCpu);
        Decode(pages, output);
        return n;
    }

    /// <summary>A copy of one page read from a CPU's trace_pipe_raw, not yet decoded.</summary>
    public readonly record struct RawPage(int Cpu, byte[] Bytes);

    /// <summary>
    /// Copies every page available now out of the kernel, without decoding (cheap, so a fast reader keeps the ring
    /// buffer from overflowing while decoding happens elsewhere). Returns the number of pages read.
    /// </summary>
    public unsafe int ReadRawPages(List<RawPage> output, int maxPagesPerCpu = 256)
    {
        int pages = 0;
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
                output.Add(new RawPage(cpu, _page.AsSpan(0, (int)n).ToArray()));
            }
        }
        return pages;
    }

    /// <summary>
    /// Decodes raw pages, appending their events ordered by timestamp, and counts missed-event flags. Each CPU's
    /// pages decode on their own thread (CPUs are independent) and the per-CPU runs, each in time order, are merged.
    /// </summary>
    public void Decode(IReadOnlyList<RawPage> pages, List<FtraceEvent> output)
    {
        var byCpu = new List<(int Cpu, List<(RawPage Page, long Index)> Pages)>();
        foreach (var page in pages)
        {
            if (page.Cpu == TextCpu) { DecodeText(page.Bytes, output); continue; }
            int g = byCpu.FindIndex(x => x.Cpu == page.Cpu);
            if (g < 0) { byCpu.Add((page.Cpu, new())); g = byCpu.Count - 1; }
            byCpu[g].Pages.Add((page, _pages++));
        }
        if (byCpu.Count == 0) return;
        if (byCpu.Count == 1)
        {
            foreach (var (page, index) in byCpu[0].Pages) CountLost(page.Cpu, _decoder.DecodePage(page.Bytes, 0, page.Bytes.Length, page.Cpu, output, index));
            return;
        }
        var runs = new List<FtraceEvent>[byCpu.Count];
        var infos = new RingBufferPage[byCpu.Count][];
        var forks = new RingBufferDecoder[byCpu.Count];
        for (int g = 0; g < byCpu.Count; g++)
        {
            forks[g] = ForkFor(byCpu[g].Cpu);
            forks[g].CopySettingsFrom(_decoder);
        }
        void DecodeCpu(int g)
        {
            var (cpu, list) = byCpu[g];
            var run = runs[g] = new List<FtraceEvent>();
            var info = infos[g] = new RingBufferPage[list.Count];
            for (int i = 0; i < list.Count; i++) info[i] = forks[g].DecodePage(list[i].Page.Bytes, 0, list[i].Page.Bytes.Length, cpu, run, list[i].Index);
            TimeOrder.EnsureSorted(run, static e => e.TimestampNanoseconds);
        }
        // A few pages (a streaming batch) are not worth the threads.
        if (pages.Count >= 8) Parallel.For(0, byCpu.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, DecodeCpu);
        else for (int g = 0; g < byCpu.Count; g++) DecodeCpu(g);
        for (int g = 0; g < byCpu.Count; g++)
        {
            foreach (var info in infos[g]) CountLost(byCpu[g].Cpu, info);
            var fctx = _forkContexts[byCpu[g].Cpu];
            _ctx.Append(fctx);
            fctx.Drain();
        }
        TimeOrder.MergeInto(runs, output);
    }

    private void CountLost(int cpu, RingBufferPage info)
    {
        if (info.MissedEvents) _lost[cpu] = _lost.GetValueOrDefault(cpu) + (info.MissedCount ?? 1);
    }

    private readonly Dictionary<int, RingBufferDecoder> _forks = new();
    private readonly Dictionary<int, ParseContext> _forkContexts = new();
    private readonly Lock _commandGate = new();

    /// <summary>The decoder of one CPU for parallel decoding: its own caches and warnings, the shared command names behind a lock.</summary>
    private RingBufferDecoder ForkFor(int cpu)
    {
        if (_forks.TryGetValue(cpu, out var d)) return d;
        var ctx = _forkContexts[cpu] = new ParseContext(_ctx.Source);
        return _forks[cpu] = _decoder.Fork(ctx, pid => { lock (_commandGate) return CommandOf(pid); });
    }

    /// <summary>
    /// Streams events to <paramref name="sink"/> until <paramref name="duration"/> passes, <paramref name="count"/>
    /// events were delivered, or <paramref name="ct"/> is cancelled. A background loop copies pages out of the kernel
    /// (polling every <paramref name="pollInterval"/> when the buffers are empty) into a bounded queue of
    /// <paramref name="queuePages"/> pages; decoding and the sink run here, so a slow consumer does not make the
    /// kernel drop events until that queue is full. With <paramref name="stopTracingAtEnd"/>, tracing is turned off
    /// when the window ends and what was still buffered is delivered. Returns the number of events delivered.
    /// </summary>
    public async Task<long> StreamAsync(Func<FtraceEvent, ValueTask> sink, TimeSpan? duration, long? count, bool stopTracingAtEnd,
        CancellationToken ct, TimeSpan? pollInterval = null, int queuePages = 16384)
    {
        var poll = pollInterval ?? TimeSpan.FromMilliseconds(20);
        var deadline = duration is TimeSpan d ? DateTime.UtcNow + d : (DateTime?)null;
        var queue = Channel.CreateBounded<List<RawPage>>(new BoundedChannelOptions(Math.Max(1, queuePages / 16))
        {
            SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait,
        });
        using var enough = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var producer = Task.Run(async () =>
        {
            bool final = false;
            try
            {
                while (true)
                {
                    bool timeUp = deadline is DateTime dl && DateTime.UtcNow >= dl;
                    if ((timeUp || enough.IsCancellationRequested) && !final)
                    {
                        if (stopTracingAtEnd) _session.Stop();
                        final = true; // one more pass drains what was recorded inside the window
                        if (enough.IsCancellationRequested) break; // count reached or Ctrl+C: no drain
                    }
                    var batch = new List<RawPage>();
                    int pages = ReadRawPages(batch, 16);
                    if (pages > 0) await queue.Writer.WriteAsync(batch, final ? CancellationToken.None : enough.Token).ConfigureAwait(false);
                    if (final && pages == 0) break;
                    if (pages == 0)
                    {
                        var wait = poll;
                        if (deadline is DateTime dl2) { var left = dl2 - DateTime.UtcNow; if (left < wait) wait = left > TimeSpan.Zero ? left : TimeSpan.Zero; }
                        try { await Task.Delay(wait, enough.Token).ConfigureAwait(false); }
                        catch (OperationCanceledException) { }
                    }
                }
            }
            catch (OperationCanceledException) { }
            finally { queue.Writer.TryComplete(); }
        });
        long delivered = 0;
        var events = new List<FtraceEvent>();
        try
        {
            await foreach (var batch in queue.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
            {
                if (ct.IsCancellationRequested) continue; // drain so the producer can finish
                events.Clear();
                Decode(batch, events);
                foreach (var ev in events)
                {
                    if (count is long c && delivered >= c) break;
                    await sink(ev).ConfigureAwait(false);
                    delivered++;
                }
                if (count is long max && delivered >= max && !enough.IsCancellationRequested)
                {
                    if (stopTracingAtEnd) _session.Stop();
                    enough.Cancel();
                }
            }
        }
        finally
        {
            enough.Cancel();
            while (queue.Reader.TryRead(out _)) { }
            await producer.ConfigureAwait(false);
        }
        ct.ThrowIfCancellationRequested();
        return delivered;
    }

    private void DecodeText(byte[] bytes, List<FtraceEvent> output)
    {
        string text = _textRest + System.Text.Encoding.UTF8.GetString(bytes);
        int last = text.LastIndexOf('\n');
        _textRest = last < 0 ? text : text[(last + 1)..];
        if (last < 0) return;
        foreach (var line in text.AsSpan(0, last).EnumerateLines())
        {
            var ev = TracePipeTextParser.ParseLine(line, ++_textLine, _ctx, name => _session.Events.FirstOrDefault(e => e.EndsWith(":" + name))?.Split(':')[0], _session.Clock);
            if (ev is not null) output.Add(ev);
        }
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
