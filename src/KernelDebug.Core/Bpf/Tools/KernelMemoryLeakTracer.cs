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
    internal const int MaxProcessIds = 16, MaxEntries = 1 << 20, StackDepth = 32, MaxStackEntries = 1 << 18;
    // struct ml_alloc (memleak.h)
    private const int StackOffset = 24, TgidOffset = 32, KindOffset = 36, CommOffset = 40;

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
    private readonly Dictionary<ulong, IReadOnlyList<StackFrame>> _stackCache = new();

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
        var filter = new Engine.BpfTaskFilter { ProcessIds = options.ProcessIds, Cgroup = options.Cgroup };
        var cgroup = filter.Validate(root);
        if (options.MaxStacks is < 1 or > MaxStackEntries)
            throw new KernelDebugException("InvalidMaxStacks", KernelErrorCategory.InvalidArgument, $"-MaxStacks must be between 1 and {MaxStackEntries}.", null, options.MaxStacks);
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
                filter.Apply(s, cgroup);
                s.SetMapMaxEntries("kd_ml_allocs", (uint)options.MaxTracked);
                s.SetMapMaxEntries("kd_ml_stacks", (uint)options.MaxStacks);
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
        ulong stacksLostTotal = State(state, 3) + State(state, 4);
        var entries = _session.Map("kd_ml_allocs").ReadAll();
        ulong nowNs = MonotonicNanoseconds();
        ulong minAgeNs = (ulong)_options.MinimumAge.Ticks * 100;
        var time = DateTimeOffset.Now;

        // Page allocations have no call site: their site is the first stack frame past the page allocator, by name.
        // The representative of a group is its oldest allocation whose stack was recorded (else its oldest), so one
        // lost stack does not hide the group's; LostStacks counts the group's allocations without one.
        var groups = new Dictionary<(string Site, ulong Stack, uint Kind), (ulong Count, ulong Bytes, ulong OldestTs, byte[] Oldest, ulong Lost)>();
        var referenced = new HashSet<ulong>();
        foreach (var (_, v) in entries)
        {
            ulong size = U64(v, 0), ts = U64(v, 8), site = U64(v, 16), stackKey = U64(v, StackOffset);
            uint kind = BinaryPrimitives.ReadUInt32LittleEndian(v.AsSpan(KindOffset));
            if (stackKey != 0) referenced.Add(stackKey);
            if (ts > nowNs || nowNs - ts < minAgeNs) continue;
            var stack = StackOf(stackKey);
            ulong lost = stack.Count == 0 ? 1UL : 0;
            var key = _options.GroupBy == KernelMemoryLeakGrouping.Stack ? ("", stack.Count == 0 ? 0 : stackKey, kind)
                : (site != 0 ? site.ToString("x") : SiteText(0, stack), 0UL, kind);
            if (groups.TryGetValue(key, out var acc))
            {
                bool better = lost == 0 && (StackOf(U64(acc.Oldest, StackOffset)).Count == 0 || ts < U64(acc.Oldest, 8));
                groups[key] = (acc.Count + 1, acc.Bytes + size, Math.Min(acc.OldestTs, ts), better ? v : acc.Oldest, acc.Lost + lost);
            }
            else
                groups[key] = (1, size, ts, v, lost);
        }
        CollectStacks(referenced);

        var list = new List<KernelMemoryLeak>(groups.Count);
        foreach (var (_, g) in groups)
        {
            var v = g.Oldest;
            ulong site = U64(v, 16);
            uint kind = BinaryPrimitives.ReadUInt32LittleEndian(v.AsSpan(KindOffset));
            var stack = StackOf(U64(v, StackOffset));
            list.Add(new KernelMemoryLeak
            {
                Site = SiteText(site, stack),
                SiteAddress = site,
                Allocator = kind switch { 0 => KernelAllocator.Kmalloc, 1 => KernelAllocator.KmemCache, _ => KernelAllocator.Page },
                Count = g.Count,
                Bytes = (long)g.Bytes,
                OldestAge = BpfToolLoader.FromNanoseconds(nowNs - g.OldestTs),
                ProcessId = (int)BinaryPrimitives.ReadUInt32LittleEndian(v.AsSpan(TgidOffset)),
                Command = Encoding.UTF8.GetString(v.AsSpan(CommOffset, 16)).TrimEnd('\0'),
                Stack = stack,
                LostStacks = g.Lost,
                LostStacksTotal = stacksLostTotal,
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

    private IReadOnlyList<StackFrame> StackOf(ulong stackKey)
    {
        if (stackKey == 0) return Array.Empty<StackFrame>();
        if (_stackCache.TryGetValue(stackKey, out var cached)) return cached;
        var map = _session.Map("kd_ml_stacks");
        var value = new byte[map.ReadValueSize];
        if (!map.TryLookup(BitConverter.GetBytes(stackKey), value)) return Array.Empty<StackFrame>();
        return _stackCache[stackKey] = LockContentionMeter.TrimTracing(LockContentionMeter.Symbolize(value, _symbols));
    }

    // Stacks of freed allocations would fill the table (sized -MaxStacks) and make later ones lost: each report
    // removes those no outstanding allocation refers to. An allocation between its stack and its table insert can
    // lose its stack this way; it is then counted in LostStacks, never shown with a wrong one.
    private void CollectStacks(HashSet<ulong> referenced)
    {
        var map = _session.Map("kd_ml_stacks");
        var stale = map.ReadAll().Select(kv => kv.Key).Where(k => !referenced.Contains(BinaryPrimitives.ReadUInt64LittleEndian(k))).ToList();
        if (stale.Count == 0) return;
        map.Delete(stale);
        foreach (var k in stale) _stackCache.Remove(BinaryPrimitives.ReadUInt64LittleEndian(k));
    }

    private static ulong State(BpfMap map, uint index) => BpfToolLoader.ReadCounter(map, index);

    /// <summary>CLOCK_MONOTONIC in nanoseconds, the clock of bpf_ktime_get_ns (.NET's Stopwatch reads it on Linux).</summary>
    internal static ulong MonotonicNanoseconds() => (ulong)(Stopwatch.GetTimestamp() * (1e9 / Stopwatch.Frequency));

    private static ulong U64(byte[] v, int offset) => BinaryPrimitives.ReadUInt64LittleEndian(v.AsSpan(offset));

    /// <inheritdoc />
    public void Dispose() => _session.Dispose();
}
