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
public sealed class KernelMemoryLeakTracer : Engine.BpfTool<KernelMemoryLeak>
{
    internal const int MaxProcessIds = 16, MaxEntries = 1 << 20, StackDepth = 32, MaxStackEntries = 1 << 18;


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

    private readonly KernelMemoryLeakOptions _options;
    private BpfStacks? _stacks;

    // Reports do not consume (no generations) and records carry no BPF cost, so statistics stay off.
    private KernelMemoryLeakTracer(KernelRoot root, KernelMemoryLeakOptions options)
        : base(root, options with { Filter = new Engine.BpfTaskFilter { ProcessIds = options.ProcessIds, Cgroup = options.Cgroup }, ProgramStatistics = false }) => _options = options;

    /// <summary>Checks the options and preconditions, loads and attaches. Errors are KernelDebugExceptions with remedies.</summary>
    public static KernelMemoryLeakTracer Start(KernelRoot root, KernelMemoryLeakOptions options, Action<string>? verbose = null) =>
        Launch(new KernelMemoryLeakTracer(root, options), verbose);

    /// <inheritdoc />
    protected override string ObjectName => "memleak";
    /// <inheritdoc />
    protected override IReadOnlyCollection<string> ProgramsFor(BpfAttachMethod method)
    {
        string prefix = method == BpfAttachMethod.TpBtf ? "kd_ml_btf_" : "kd_ml_raw_";
        return Pairs.Where(p => _options.Allocators.HasFlag(p.Allocator)).SelectMany(p => new[] { prefix + p.Alloc, prefix + p.Free }).ToArray();
    }

    /// <inheritdoc />
    protected override void Validate()
    {
        if (_options.Allocators == KernelAllocator.None)
            throw new KernelDebugException("NoAllocatorSelected", KernelErrorCategory.InvalidArgument, "Select at least one allocator to trace.", "Use -Allocator Kmalloc, KmemCache or Page.", _options.Allocators);
        if (_options.MaxTracked is < 1 or > MaxEntries)
            throw new KernelDebugException("InvalidMaxTracked", KernelErrorCategory.InvalidArgument, $"-MaxTracked must be between 1 and {MaxEntries}.", null, _options.MaxTracked);
        if (_options.MaxStacks is < 1 or > MaxStackEntries)
            throw new KernelDebugException("InvalidMaxStacks", KernelErrorCategory.InvalidArgument, $"-MaxStacks must be between 1 and {MaxStackEntries}.", null, _options.MaxStacks);
        if (_options.MinimumAge < TimeSpan.Zero)
            throw new KernelDebugException("InvalidMinimumAge", KernelErrorCategory.InvalidArgument, "-MinimumAge must not be negative.", null, _options.MinimumAge);
    }

    /// <inheritdoc />
    protected override void Configure(BpfSession s, BpfAttachMethod method)
    {
        s.SetMapMaxEntries("kd_ml_allocs", (uint)_options.MaxTracked);
        s.SetMapMaxEntries("kd_ml_stacks", (uint)_options.MaxStacks);
        s.SetGlobal("targ_page_shift", (uint)System.Numerics.BitOperations.Log2((uint)Root.PageSize));
    }

    /// <summary>The outstanding allocations now (programs keep running; nothing is consumed).</summary>
    public IReadOnlyList<KernelMemoryLeak> Report() => CollectInterval();

    /// <inheritdoc />
    protected override IReadOnlyList<KernelMemoryLeak> Decode(Engine.BpfInterval interval) => Report(interval.Session);

    /// <summary>Reads the table and groups the outstanding allocations older than the minimum age.</summary>
    private List<KernelMemoryLeak> Report(BpfSession session)
    {
        _stacks ??= new BpfStacks(session, "kd_ml_stacks", Root);
        // The table before the counters: a program counts a lost stack before it inserts the allocation, so every
        // allocation read is already in the totals (the other order once gave a total one below the table's count).
        var entries = session.Map("kd_ml_allocs").ReadAll();
        var state = session.Map("kd_ml_state");
        ulong tracked = State(state, 0), overflows = State(state, 1), untrackedFrees = State(state, 2);
        ulong stacksLostTotal = State(state, 3) + State(state, 4);
        var (missedAllocs, missedFrees) = Missed(session);
        ulong nowNs = MonotonicNanoseconds();
        ulong minAgeNs = (ulong)_options.MinimumAge.Ticks * 100;
        var time = DateTimeOffset.Now;

        // Page allocations have no call site: their site is the first stack frame past the page allocator, by name.
        // The representative of a group is its oldest allocation whose stack was recorded (else its oldest), so one
        // lost stack does not hide the group's; LostStacks counts the group's allocations without one.
        var groups = new Dictionary<(string Site, ulong Stack, uint Kind), (ulong Count, ulong Bytes, ulong OldestTs, MlAlloc Oldest, ulong Lost)>();
        var referenced = new HashSet<ulong>();
        foreach (var (_, bytes) in entries)
        {
            var v = BpfAbi.Read<MlAlloc>(bytes);
            ulong size = v.Size, ts = v.Ts, site = v.CallSite, stackKey = v.Stack;
            uint kind = v.Kind;
            if (stackKey != 0) referenced.Add(stackKey);
            if (ts > nowNs || nowNs - ts < minAgeNs) continue;
            var stack = StackOf(stackKey);
            ulong lost = stack.Count == 0 ? 1UL : 0;
            var key = _options.GroupBy == KernelMemoryLeakGrouping.Stack ? ("", stack.Count == 0 ? 0 : stackKey, kind)
                : (site != 0 ? site.ToString("x") : SiteText(0, stack), 0UL, kind);
            if (groups.TryGetValue(key, out var acc))
            {
                bool better = lost == 0 && (StackOf(acc.Oldest.Stack).Count == 0 || ts < acc.Oldest.Ts);
                groups[key] = (acc.Count + 1, acc.Bytes + size, Math.Min(acc.OldestTs, ts), better ? v : acc.Oldest, acc.Lost + lost);
            }
            else
                groups[key] = (1, size, ts, v, lost);
        }
        _stacks.Collect(referenced);

        var list = new List<KernelMemoryLeak>(groups.Count);
        foreach (var (_, g) in groups)
        {
            var v = g.Oldest;
            ulong site = v.CallSite;
            uint kind = v.Kind;
            var stack = StackOf(v.Stack);
            list.Add(new KernelMemoryLeak
            {
                Site = SiteText(site, stack),
                SiteAddress = site,
                Allocator = kind switch { 0 => KernelAllocator.Kmalloc, 1 => KernelAllocator.KmemCache, _ => KernelAllocator.Page },
                Count = g.Count,
                Bytes = (long)g.Bytes,
                OldestAge = BpfToolLoader.FromNanoseconds(nowNs - g.OldestTs),
                ProcessId = (int)v.Tgid,
                Command = v.CommText(),
                Stack = stack,
                LostStacks = g.Lost,
                LostStacksTotal = stacksLostTotal,
                Tracked = tracked,
                Overflows = overflows,
                UntrackedFrees = untrackedFrees,
                MissedFrees = missedFrees,
                MissedAllocations = missedAllocs,
                Time = time,
                AttachMethod = AttachMethod,
            });
        }
        list.Sort((a, b) => b.Bytes != a.Bytes ? b.Bytes.CompareTo(a.Bytes) : b.Count.CompareTo(a.Count));
        return list;
    }

    /// <summary>The kernel's recursion misses of the allocation and the free programs (bpf_prog_info.recursion_misses).</summary>
    private static (ulong Allocations, ulong Frees) Missed(BpfSession session)
    {
        ulong allocs = 0, frees = 0;
        foreach (var (name, info) in session.LoadedPrograms())
        {
            if (Pairs.Any(p => name.EndsWith("_" + p.Free, StringComparison.Ordinal))) frees += info.RecursionMisses;
            else allocs += info.RecursionMisses;
        }
        return (allocs, frees);
    }

    private string SiteText(ulong site, IReadOnlyList<StackFrame> stack)
    {
        if (site != 0) return _stacks!.Symbols?.Symbolize(site) ?? $"0x{site:x}";
        foreach (var f in stack)
            if (!AllocatorPrefixes.Any(p => f.Function.StartsWith(p, StringComparison.Ordinal)) && !f.Function.StartsWith("0x", StringComparison.Ordinal))
                return f.ToString();
        return "(unknown)";
    }

    private IReadOnlyList<StackFrame> StackOf(ulong stackKey) => _stacks!.Kernel(stackKey);

    private static ulong State(BpfMap map, uint index) => BpfToolLoader.ReadCounter(map, index);

    /// <summary>CLOCK_MONOTONIC in nanoseconds, the clock of bpf_ktime_get_ns (.NET's Stopwatch reads it on Linux).</summary>
    internal static ulong MonotonicNanoseconds() => (ulong)(Stopwatch.GetTimestamp() * (1e9 / Stopwatch.Frequency));


}
