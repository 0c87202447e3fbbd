using System.Management.Automation;
using KernelDebug.Core;
using KernelDebug.Core.Bpf.Tools;

using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Bpf;

/// <summary>
/// <para type="synopsis">Finds kernel memory leaks with eBPF: allocations (kmalloc, slab caches, pages) made while tracing and not freed, grouped by call site or stack, with count, bytes, age and a sample stack.</para>
/// <para type="description">Trace-KernelMemoryLeak loads a small precompiled CO-RE BPF program (kd_ml_*) on the kmem tracepoints of the chosen allocators (-Allocator: Kmalloc and KmemCache by default, Page on request): every allocation is entered into a kernel hash table with its size, time, call site, process and kernel stack, and its free removes it. Frees of allocations made before the trace started are ignored (counted in UntrackedFrees). At the end (-Duration or Ctrl+C), or every -Interval, it reports the allocations still outstanding and at least -MinimumAge old, one record per call site (Site, symbolized through kallsyms) or, with -GroupBy Stack, per allocating stack: Count, Bytes, OldestAge, and the process and stack of the oldest one. Reports do not consume anything: a leak stays in every report until freed. The table is preallocated to -MaxTracked entries (default 65536); allocations that do not fit are counted in Overflows, which then means the report may miss leaks. -ProcessId traces only allocations made in those processes' context. This replaces the origin document's trace_printk pipe. It attaches with raw_tp where the kernel has it, else tp_btf. Every program, map and link is removed on completion, on error and on Ctrl+C. Needs root, or CAP_BPF and CAP_PERFMON, and a kernel with BTF (CONFIG_DEBUG_INFO_BTF).</para>
/// </summary>
/// <example>
///   <code>Trace-KernelMemoryLeak -Duration 0:1:0 -MinimumAge 0:0:30 | Select-Object -First 10</code>
///   <para>After a minute, the ten call sites holding the most bytes in allocations that are still outstanding and at least 30 seconds old.</para>
/// </example>
/// <example>
///   <code>Trace-KernelMemoryLeak -Interval 0:0:10 -Duration 0:5:0 -MinimumAge 0:0:10 | Group-Object Site | Where-Object Count -ge 10</code>
///   <para>Call sites that hold old outstanding allocations in every report for five minutes: the growth pattern of a leak.</para>
/// </example>
/// <example>
///   <code>Trace-KernelMemoryLeak -ProcessId 1234 -Allocator Kmalloc, KmemCache, Page -GroupBy Stack -Duration 0:0:20 | Select-Object -First 1 -ExpandProperty Stack</code>
///   <para>The full kernel stack of the largest outstanding allocation group made on behalf of process 1234, pages included.</para>
/// </example>
[Cmdlet(VerbsDiagnostic.Trace, "KernelMemoryLeak")]
[OutputType(typeof(KernelMemoryLeak))]
public sealed class TraceKernelMemoryLeakCommand : BpfMeasureCmdlet
{
    private readonly List<int> _pids = new();

    /// <summary>
    /// <para type="description">The allocators to trace: Kmalloc (kmalloc/kfree), KmemCache (kmem_cache_alloc/kmem_cache_free), Page (mm_page_alloc/mm_page_free). Default: Kmalloc and KmemCache.</para>
    /// </summary>
    [Parameter]
    public KernelAllocator[] Allocator { get; set; } = [KernelAllocator.Kmalloc, KernelAllocator.KmemCache];

    /// <summary>
    /// <para type="description">Only allocations made in the context of these processes (process ids, filtered in the kernel; at most 16). Binds Id from pipeline input.</para>
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "Pid")]
    public int[]? ProcessId { get; set; }

    /// <summary>
    /// <para type="description">Size of the kernel table of outstanding allocations (1 to 1048576, default 65536; about 100 bytes each, preallocated). Allocations that do not fit are counted in Overflows.</para>
    /// </summary>
    [Parameter]
    [ValidateRange(1, 1 << 20)]
    public int MaxTracked { get; set; } = 65536;

    /// <summary>
    /// <para type="description">Size of the kernel table of distinct allocating stacks (1 to 262144, default 16384; 256 bytes each, preallocated). Stacks of freed allocations are dropped at each report; an allocation whose stack did not fit is counted in LostStacks and a warning says so.</para>
    /// </summary>
    [Parameter]
    [ValidateRange(1, 1 << 18)]
    public int MaxStacks { get; set; } = 16384;

    /// <summary>
    /// <para type="description">Reports only allocations at least this old (default: all outstanding).</para>
    /// </summary>
    [Parameter]
    [DurationTransformation(AllowZero = true)]
    public TimeSpan MinimumAge { get; set; }

    /// <summary>
    /// <para type="description">Groups by call site (Site, default) or by the whole allocating stack (Stack).</para>
    /// </summary>
    [Parameter]
    public KernelMemoryLeakGrouping GroupBy { get; set; }

    /// <inheritdoc />
    protected override string Activity => "Tracing kernel memory allocations";

    private long _overflows, _lostStacks, _missedFrees;

    /// <inheritdoc />
    protected override void Process()
    {
        if (ProcessId is not null) _pids.AddRange(ProcessId);
    }

    /// <inheritdoc />
    protected override IEnumerable<object> Shape(IEnumerable<object> records)
    {
        var list = records.ToList();
        foreach (var r in list.OfType<KernelMemoryLeak>())
            if ((long)r.Overflows > Interlocked.Read(ref _overflows)) Interlocked.Exchange(ref _overflows, (long)r.Overflows);
        foreach (var r in list.OfType<KernelMemoryLeak>())
            if ((long)r.MissedFrees > Interlocked.Read(ref _missedFrees)) Interlocked.Exchange(ref _missedFrees, (long)r.MissedFrees);
        // Outstanding allocations without a stack in the latest report (a report replaces the previous one).
        Interlocked.Exchange(ref _lostStacks, list.OfType<KernelMemoryLeak>().Sum(r => (long)r.LostStacks));
        return list;
    }

    /// <inheritdoc />
    protected override void End()
    {
        base.End();
        long n = Interlocked.Read(ref _overflows);
        if (n > 0)
            WriteWarning($"{n} allocations were not tracked because the table of {MaxTracked} entries was full: the report may miss leaks. Raise -MaxTracked, or narrow with -ProcessId or -Allocator.");
        long missed = Interlocked.Read(ref _missedFrees);
        if (missed > 0)
            WriteWarning($"The kernel skipped the free program {missed} times (a free in an interrupt while the program ran on that CPU; see MissedFrees): up to {missed} reported allocations may be freed already.");
        long lost = Interlocked.Read(ref _lostStacks);
        if (lost > 0)
            WriteWarning($"{lost} outstanding allocations have no stack (see LostStacks): the stack table of {MaxStacks} entries was full, or the kernel could not walk the stack. Raise -MaxStacks, or narrow with -ProcessId or -Allocator.");
    }

    /// <inheritdoc />
    protected override IBpfMeter<object> StartMeter(Action<string> verbose) =>
        KernelMemoryLeakTracer.Start(KernelRoot.Live, new KernelMemoryLeakOptions
        {
            Allocators = Allocator.Aggregate(KernelAllocator.None, (a, b) => a | b),
            ProcessIds = _pids.Distinct().ToArray(),
            Cgroup = Cgroup,
            MaxTracked = MaxTracked,
            MaxStacks = MaxStacks,
            MinimumAge = MinimumAge,
            GroupBy = GroupBy,
        }, verbose);
}
