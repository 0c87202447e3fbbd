using KernelDebug.Core.Parsing;
using KernelDebug.Core.Symbols;

namespace KernelDebug.Core.Bpf.Tools;

/// <summary>Which kernel allocator an allocation came from.</summary>
[Flags]
public enum KernelAllocator
{
    /// <summary>None selected.</summary>
    None = 0,
    /// <summary>kmalloc/kfree (kmem:kmalloc, kmem:kfree).</summary>
    Kmalloc = 1,
    /// <summary>Slab caches: kmem_cache_alloc/kmem_cache_free.</summary>
    KmemCache = 2,
    /// <summary>The page allocator: mm_page_alloc/mm_page_free.</summary>
    Page = 4,
}

/// <summary>How Trace-KernelMemoryLeak groups outstanding allocations.</summary>
public enum KernelMemoryLeakGrouping
{
    /// <summary>By the allocator's call site (the function that called kmalloc/kmem_cache_alloc).</summary>
    Site,
    /// <summary>By the whole allocating kernel stack.</summary>
    Stack,
}

/// <summary>
/// Kernel allocations still outstanding (allocated after the trace started, not freed, older than the minimum age),
/// grouped by call site or stack, as Trace-KernelMemoryLeak reports them.
/// </summary>
public sealed record KernelMemoryLeak
{
    /// <summary>The call site, symbolized (alloc_pipe_info+0x5a/0x1e0); for pages the first caller outside the page allocator.</summary>
    public string Site { get; init; } = "";
    /// <summary>The call site's address (0 when unknown).</summary>
    public ulong SiteAddress { get; init; }
    /// <summary>SiteAddress in hex as the kernel prints it (0x...); SiteAddress stays numeric for filtering.</summary>
    public string? SiteAddressHex => Flat.Hex(SiteAddress);
    /// <summary>The allocator.</summary>
    public KernelAllocator Allocator { get; init; }
    /// <summary>Outstanding allocations.</summary>
    public ulong Count { get; init; }
    /// <summary>Their bytes (allocated sizes: slab object size, kmalloc bucket, pages).</summary>
    public long Bytes { get; init; }
    /// <summary>Age of the oldest of them.</summary>
    public TimeSpan OldestAge { get; init; }
    /// <summary>Process that made the oldest allocation of the group.</summary>
    public int ProcessId { get; init; }
    /// <summary>Its command name.</summary>
    public string Command { get; init; } = "";
    /// <summary>The kernel stack of the oldest allocation of the group, innermost first.</summary>
    public IReadOnlyList<StackFrame> Stack { get; init => field = Flat.List(value); } = FlatList<StackFrame>.Empty;
    /// <summary>Allocations of this group whose stack was not recorded (the stack table, sized -MaxStacks, was full, or the kernel could not walk the stack); Stack is empty only when all of them were.</summary>
    public ulong LostStacks { get; init; }
    /// <summary>Allocations since the start (all groups, freed or not) whose stack was not recorded.</summary>
    public ulong LostStacksTotal { get; init; }
    /// <summary>Allocations tracked in the kernel table at this report (all groups, any age).</summary>
    public ulong Tracked { get; init; }
    /// <summary>Allocations not tracked since the start because the table was full (-MaxTracked): the report may miss leaks.</summary>
    public ulong Overflows { get; init; }
    /// <summary>Frees of allocations made before the trace started (ignored).</summary>
    public ulong UntrackedFrees { get; init; }
    /// <summary>
    /// Frees since the start that the kernel did not run the free program for (its recursion guard: a free in an
    /// interrupt while the program was already running on that CPU); up to this many reported allocations may be
    /// freed already.
    /// </summary>
    public ulong MissedFrees { get; init; }
    /// <summary>Allocations since the start that the kernel did not run the allocation program for (same guard): the report may miss them.</summary>
    public ulong MissedAllocations { get; init; }
    /// <summary>When the report was made.</summary>
    public DateTimeOffset Time { get; init; }
    /// <summary>How the programs were attached.</summary>
    public BpfAttachMethod AttachMethod { get; init; }
}

/// <summary>What Trace-KernelMemoryLeak traces.</summary>
public sealed record KernelMemoryLeakOptions : Engine.BpfToolOptions
{
    /// <summary>Allocators to trace.</summary>
    public KernelAllocator Allocators { get; init; } = KernelAllocator.Kmalloc | KernelAllocator.KmemCache;
    /// <summary>Only allocations made by these processes; empty = all. At most 16.</summary>
    public IReadOnlyList<int> ProcessIds { get; init; } = Array.Empty<int>();
    /// <summary>Only tasks in this cgroup directory or below (v1 or v2; filtered in the kernel).</summary>
    public string? Cgroup { get; init; }
    /// <summary>Bound of the kernel table of outstanding allocations.</summary>
    public int MaxTracked { get; init; } = 65536;
    /// <summary>Bound of the kernel table of distinct allocating stacks (256 bytes each, preallocated).</summary>
    public int MaxStacks { get; init; } = 16384;
    /// <summary>Report only allocations at least this old.</summary>
    public TimeSpan MinimumAge { get; init; }
    /// <summary>Grouping of the report.</summary>
    public KernelMemoryLeakGrouping GroupBy { get; init; }
}
