using System.Buffers.Binary;
using System.Text;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Symbols;
using Stopwatch = System.Diagnostics.Stopwatch;

namespace KernelDebug.Core.Bpf.Tools;

/// <summary>
/// The kernel side of Trace-KernelMemoryLeak: loads memleak.bpf.c on the kmem tracepoints of the chosen allocators,
/// and reports the outstanding allocations older than the minimum age, grouped by call site or stack. Reports do not
/// consume anything: a leak stays in every later report until it is freed.
/// </summary>
public sealed class KernelMemoryLeakTracer : IBpfMeter<KernelMemoryLeak>
{
    internal const int MaxProcessIds = 16, MaxEntries = 1 << 20, StackDepth = 32;
    private const int ValueSize = 56;   // struct ml_alloc

    private static readonly BpfAttachMethod[] Preference = [BpfAttachMethod.RawTp, BpfAttachMethod.TpBtf];

    private static readonly (KernelAllocator Allocator, string Alloc, string Free)[] Pairs =
    [
        (KernelAllocator.Kmalloc, "kmalloc", "kfree"),
        (KernelAllocator.KmemCache, "calloc", "cfree"),
        (KernelAllocator.Page, "palloc", "pfree"),
    ];

    // Frames of the allocators and the tracing code: the site of a page allocation is the first frame past them.
    private static readonly string[] AllocatorPrefixes =
    [
        "bpf_", "__bpf_", "__traceiter_", "__probestub_", "perf_", "trace_", "__alloc_pages", "alloc_pages", "__alloc_frozen_pages", "alloc_frozen_pages",
        "get_page_from_freelist", "post_alloc_hook", "prep_new_page", "__folio_alloc", "folio_alloc", "__get_free_pages", "get_zeroed_page",
        "alloc_slab_page", "allocate_slab", "new_slab", "___slab_alloc", "__slab_alloc", "slab_alloc", "kmem_cache_alloc", "__kmalloc", "kmalloc",
        "__kmem_cache_alloc", "kmalloc_large", "___kmalloc_large", "__kmalloc_large", "__do_kmalloc", "__vmalloc", "vmalloc",
    ];

    private readonly BpfSession _session;
    private readonly KernelMemoryLeakOptions _options;
    private readonly Lazy<KernelSymbolTable?> _symbolTable;
    // kallsyms is parsed on the first read, not before attach: attaching fast matters more than the first report.
    private KernelSymbolTable? _symbols => _symbolTable.Value;
    private readonly Dictionary<int, IReadOnlyList<StackFrame>> _stackCache = new();

    private KernelMemoryLeakTracer(BpfSession session, BpfAttachMethod method, KernelMemoryLeakOptions options, Lazy<KernelSymbolTable?> symbols)
    {
        _session = session;
        AttachMethod = method;
        _options = options;
        _symbolTable = symbols;
    }

    /// <inheritdoc />
    public BpfAttachMethod AttachMethod { get; }
    /// <inheritdoc />
    public BpfSession Session => _session;
    /// <summary>Milliseconds from <see cref="Start"/> being called to the programs being attached.</summary>
    public double StartMilliseconds { get; private set; }

    /// <summary>Checks the options and preconditions, loads and attaches. Errors are KernelDebugExceptions with remedies.</summary>
    public static KernelMemoryLeakTracer Start(KernelRoot root, KernelMemoryLeakOptions options, Action<string>? verbose = null)
    {
        var sw = Stopwatch.StartNew();
        if (options.Allocators == KernelAllocator.None)
            throw new KernelDebugException("NoAllocatorSelected", KernelErrorCategory.InvalidArgument, "Select at least one allocator to trace.", "Use -Allocator Kmalloc, KmemCache or Page.", options.Allocators);
        if (options.MaxTracked is < 1 or > MaxEntries)
            throw new KernelDebugException("InvalidMaxTracked", KernelErrorCategory.InvalidArgument, $"-MaxTracked must be between 1 and {MaxEntries}.", null, options.MaxTracked);
        if (options.ProcessIds.Count > MaxProcessIds)
            throw new KernelDebugException("TooManyProcessIds", KernelErrorCategory.InvalidArgument,
                $"At most {MaxProcessIds} process ids can be filtered in the kernel; {options.ProcessIds.Count} were given.", "Give fewer -ProcessId values.", options.ProcessIds.Count);
        if (options.MinimumAge < TimeSpan.Zero)
            throw new KernelDebugException("InvalidMinimumAge", KernelErrorCategory.InvalidArgument, "-MinimumAge must not be negative.", null, options.MinimumAge);

        var symbols = new Lazy<KernelSymbolTable?>(() =>
        {
            var t = KernelSymbolTable.TryLoad(root);
            if (t is null) verbose?.Invoke("kallsyms is unreadable or hidden (kptr_restrict): call sites and stacks stay unsymbolized.");
            return t;
        });
        int pageShift = System.Numerics.BitOperations.Log2((uint)root.PageSize);
        var (session, method) = BpfToolLoader.Start(root, "memleak", options.AttachMethods ?? Preference,
            m =>
            {
                string prefix = m == BpfAttachMethod.TpBtf ? "kd_ml_btf_" : "kd_ml_raw_";
                return Pairs.Where(p => options.Allocators.HasFlag(p.Allocator)).SelectMany(p => new[] { prefix + p.Alloc, prefix + p.Free }).ToArray();
            },
            (s, _) =>
            {
                if (options.ProcessIds.Count > 0)
                {
                    s.SetGlobal<uint>("targ_tgids", options.ProcessIds.Select(p => (uint)p).ToArray());
                    s.SetGlobal("targ_ntgids", (uint)options.ProcessIds.Count);
                }
                s.SetMapMaxEntries("kd_ml_allocs", (uint)options.MaxTracked);
                s.SetGlobal("targ_page_shift", (uint)pageShift);
            }, verbose);
        return new KernelMemoryLeakTracer(session, method, options, symbols) { StartMilliseconds = sw.Elapsed.TotalMilliseconds };
    }

    /// <summary>The outstanding allocations now (programs keep running).</summary>
    public IReadOnlyList<KernelMemoryLeak> CollectInterval() => Report();

    /// <summary>Detaches the programs and reports what is still outstanding.</summary>
    public IReadOnlyList<KernelMemoryLeak> Finish()
    {
        _session.Detach();
        return Report();
    }

    /// <summary>Reads the table and groups the outstanding allocations older than the minimum age.</summary>
    public IReadOnlyList<KernelMemoryLeak> Report()
    {
        var state = _session.Map("kd_ml_state");
        ulong tracked = State(state, 0), overflows = State(state, 1), untrackedFrees = State(state, 2);
        var entries = _session.Map("kd_ml_allocs").ReadAll();
        ulong nowNs = MonotonicNanoseconds();
        ulong minAgeNs = (ulong)_options.MinimumAge.Ticks * 100;
        var time = DateTimeOffset.Now;

        // Page allocations have no call site: their site is the first stack frame past the page allocator, by name.
        var groups = new Dictionary<(string Site, int Stack, uint Kind), (ulong Count, ulong Bytes, ulong OldestTs, byte[] Oldest)>();
        foreach (var (_, v) in entries)
        {
            ulong size = U64(v, 0), ts = U64(v, 8), site = U64(v, 16);
            int stackId = BinaryPrimitives.ReadInt32LittleEndian(v.AsSpan(24));
            uint kind = BinaryPrimitives.ReadUInt32LittleEndian(v.AsSpan(32));
            if (ts > nowNs || nowNs - ts < minAgeNs) continue;
            var key = _options.GroupBy == KernelMemoryLeakGrouping.Stack ? ("", stackId, kind)
                : (site != 0 ? site.ToString("x") : SiteText(0, StackOf(stackId)), -2, kind);
            if (groups.TryGetValue(key, out var acc))
                groups[key] = (acc.Count + 1, acc.Bytes + size, Math.Min(acc.OldestTs, ts), ts < acc.OldestTs ? v : acc.Oldest);
            else
                groups[key] = (1, size, ts, v);
        }

        var list = new List<KernelMemoryLeak>(groups.Count);
        foreach (var (_, g) in groups)
        {
            var v = g.Oldest;
            ulong site = U64(v, 16);
            int stackId = BinaryPrimitives.ReadInt32LittleEndian(v.AsSpan(24));
            uint kind = BinaryPrimitives.ReadUInt32LittleEndian(v.AsSpan(32));
            var stack = StackOf(stackId);
            list.Add(new KernelMemoryLeak
            {
                Site = SiteText(site, stack),
                SiteAddress = site,
                Allocator = kind switch { 0 => KernelAllocator.Kmalloc, 1 => KernelAllocator.KmemCache, _ => KernelAllocator.Page },
                Count = g.Count,
                Bytes = (long)g.Bytes,
                OldestAge = BpfToolLoader.FromNanoseconds(nowNs - g.OldestTs),
                ProcessId = (int)BinaryPrimitives.ReadUInt32LittleEndian(v.AsSpan(28)),
                Command = Encoding.UTF8.GetString(v.AsSpan(36, 16)).TrimEnd('\0'),
                Stack = stack,
                Tracked = tracked,
                Overflows = overflows,
                UntrackedFrees = untrackedFrees,
                Time = time,
                AttachMethod = AttachMethod,
            });
        }
        list.Sort((a, b) => b.Bytes != a.Bytes ? b.Bytes.CompareTo(a.Bytes) : b.Count.CompareTo(a.Count));
        return list;
    }

    private string SiteText(ulong site, IReadOnlyList<StackFrame> stack)
    {
        if (site != 0) return _symbols?.Symbolize(site) ?? $"0x{site:x}";
        foreach (var f in stack)
            if (!AllocatorPrefixes.Any(p => f.Function.StartsWith(p, StringComparison.Ordinal)) && !f.Function.StartsWith("0x", StringComparison.Ordinal))
                return f.ToString();
        return "(unknown)";
    }

    private IReadOnlyList<StackFrame> StackOf(int stackId)
    {
        if (stackId < 0) return Array.Empty<StackFrame>();
        if (_stackCache.TryGetValue(stackId, out var cached)) return cached;
        var map = _session.Map("kd_ml_stacks");
        var key = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(key, stackId);
        var value = new byte[map.ReadValueSize];
        if (!map.TryLookup(key, value)) return Array.Empty<StackFrame>();
        return _stackCache[stackId] = LockContentionMeter.TrimTracing(LockContentionMeter.Symbolize(value, _symbols));
    }

    private static ulong State(BpfMap map, uint index) => BpfToolLoader.ReadCounter(map, index);

    /// <summary>CLOCK_MONOTONIC in nanoseconds, the clock of bpf_ktime_get_ns (.NET's Stopwatch reads it on Linux).</summary>
    internal static ulong MonotonicNanoseconds() => (ulong)(Stopwatch.GetTimestamp() * (1e9 / Stopwatch.Frequency));

    private static ulong U64(byte[] v, int offset) => BinaryPrimitives.ReadUInt64LittleEndian(v.AsSpan(offset));

    /// <inheritdoc />
    public void Dispose() => _session.Dispose();
}
