using KernelDebug.Core.Parsing;
using System.Buffers.Binary;
using KernelDebug.Core.Bpf.Engine;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Symbols;

namespace KernelDebug.Core.Bpf.Tools;

/// <summary>Task states a block is counted in (the kernel's TASK_* bits of prev_state), plus preemption.</summary>
[Flags]
public enum OffCpuStates
{
    /// <summary>None.</summary>
    None = 0,
    /// <summary>TASK_INTERRUPTIBLE (S): sleeping until a signal or event.</summary>
    Interruptible = 0x1,
    /// <summary>TASK_UNINTERRUPTIBLE (D): waiting for I/O or a lock; includes TASK_IDLE kernel threads.</summary>
    Uninterruptible = 0x2,
    /// <summary>__TASK_STOPPED (T).</summary>
    Stopped = 0x4,
    /// <summary>__TASK_TRACED (t).</summary>
    Traced = 0x8,
    /// <summary>TASK_PARKED (kthread parked).</summary>
    Parked = 0x40,
    /// <summary>Preempted while runnable: time waiting in the run queue (not blocked).</summary>
    Preempted = 0x4000_0000,
    /// <summary>Every blocked state (the default; not Preempted).</summary>
    Blocked = 0x3fff_ffff,
}

/// <summary>Time blocked off-CPU at one kernel+user stack of one thread, and who woke it (Measure-OffCpuTime).</summary>
public sealed record OffCpuTime
{
    /// <summary>Process id.</summary>
    public int ProcessId { get; init; }
    /// <summary>Thread id.</summary>
    public int ThreadId { get; init; }
    /// <summary>Thread's command name.</summary>
    public string Command { get; init; } = "";
    /// <summary>Total time blocked here.</summary>
    public TimeSpan Total { get; init; }
    /// <summary>Times it blocked here.</summary>
    public ulong Blocks { get; init; }
    /// <summary>The flame-graph weight: microseconds blocked (ConvertTo-FoldedStack reads Count).</summary>
    public long Count { get; init; }
    /// <summary>Where it blocked: kernel frames then user frames, innermost first.</summary>
    public IReadOnlyList<StackFrame> Stack { get; init => field = Flat.List(value); } = FlatList<StackFrame>.Empty;
    /// <summary>The stack as text, innermost first ("a;b;c"), for CSV.</summary>
    public string StackText => string.Join(';', Stack.Select(f => f.Function));
    /// <summary>How many of Stack's frames are kernel frames.</summary>
    public int KernelFrameCount { get; init; }
    /// <summary>Process id of the task that woke it (-IncludeWaker), if seen.</summary>
    public int? WakerProcessId { get; init; }
    /// <summary>The waker's command name.</summary>
    public string? WakerCommand { get; init; }
    /// <summary>The waker's kernel stack at the wakeup, innermost first (-IncludeWaker).</summary>
    public IReadOnlyList<StackFrame> WakerStack { get; init => field = Flat.List(value); } = FlatList<StackFrame>.Empty;
    /// <summary>The waker's stack as text, innermost first.</summary>
    public string WakerStackText => string.Join(';', WakerStack.Select(f => f.Function));
    /// <summary>
    /// Frames for folding, innermost first: the blocked stack, then "--", then the waker's stack outermost first, so
    /// a folded stack reads like bcc offwaketime's (the waker's stack stands inverted on top of the blocked one).
    /// </summary>
    public IReadOnlyList<StackFrame> Frames => WakerStack.Count == 0 ? Stack
        : Flat.List(WakerStack.Reverse().Append(new StackFrame { Function = "--" }).Concat(Stack).ToList());
    /// <summary>Cgroup path (in the -Cgroup hierarchy, else v2).</summary>
    public string? CgroupPath { get; init; }
    /// <summary>The container id the cgroup path holds, if any.</summary>
    public string? ContainerId { get; init; }
    /// <summary>How the programs were attached.</summary>
    public BpfAttachMethod AttachMethod { get; init; }
    /// <summary>BPF nanoseconds per program run (sampled kernel BPF statistics); null when they are off.</summary>
    public double? OverheadPerEvent { get; init; }
    /// <summary>The programs' run time over the interval, all CPUs.</summary>
    public TimeSpan? ProgramRunTime { get; init; }
    /// <summary>Interval start.</summary>
    public DateTimeOffset StartTime { get; init; }
    /// <summary>Interval end.</summary>
    public DateTimeOffset EndTime { get; init; }
}

/// <summary>Options of Measure-OffCpuTime.</summary>
public sealed record OffCpuTimeOptions : BpfToolOptions
{
    /// <summary>States counted.</summary>
    public OffCpuStates States { get; init; } = OffCpuStates.Blocked;
    /// <summary>Blocks shorter than this are not counted.</summary>
    public TimeSpan MinimumBlock { get; init; }
    /// <summary>Blocks longer than this are not counted (null = no bound).</summary>
    public TimeSpan? MaximumBlock { get; init; }
    /// <summary>Also record the waker's stack.</summary>
    public bool IncludeWaker { get; init; }
    /// <summary>Only kernel stacks.</summary>
    public bool KernelOnly { get; init; }
    /// <summary>Bound of the stack table (distinct stacks, 256 bytes each).</summary>
    public int MaxStacks { get; init; } = 16384;
    /// <summary>Only threads whose command matches (user space).</summary>
    public Func<string, bool>? CommandFilter { get; init; }
}

/// <summary>Measure-OffCpuTime's tool: offcpu.bpf.c on sched_switch (and sched_wakeup for wakers).</summary>
public sealed class OffCpuTimeMeter : BpfTool<OffCpuTime>
{
    private readonly OffCpuTimeOptions _options;
    private BpfStacks? _stacks;

    private OffCpuTimeMeter(KernelRoot root, OffCpuTimeOptions options) : base(root, options) => _options = options;

    /// <summary>Validates, loads and attaches. Errors are KernelDebugExceptions with remedies.</summary>
    public static OffCpuTimeMeter Start(KernelRoot root, OffCpuTimeOptions options, Action<string>? verbose = null) =>
        Launch(new OffCpuTimeMeter(root, options), verbose);

    /// <inheritdoc />
    protected override string ObjectName => "offcpu";
    /// <inheritdoc />
    protected override string? GenerationMap => "kd_oc_ctl";
    /// <inheritdoc />
    protected override IReadOnlyCollection<string> ProgramsFor(BpfAttachMethod method)
    {
        string p = method == BpfAttachMethod.TpBtf ? "kd_oc_btf_" : "kd_oc_raw_";
        return _options.IncludeWaker ? [p + "switch", p + "wakeup"] : [p + "switch"];
    }

    /// <inheritdoc />
    protected override void Validate()
    {
        if (_options.MinimumBlock < TimeSpan.Zero)
            throw new KernelDebugException("InvalidMinimumBlock", KernelErrorCategory.InvalidArgument, "-MinimumBlock must not be negative.", null, _options.MinimumBlock);
        if (_options.MaximumBlock is { } max && max < _options.MinimumBlock)
            throw new KernelDebugException("InvalidMaximumBlock", KernelErrorCategory.InvalidArgument, "-MaximumBlock must not be below -MinimumBlock.", null, max);
        if (_options.States == OffCpuStates.None)
            throw new KernelDebugException("NoStateSelected", KernelErrorCategory.InvalidArgument, "Select at least one task state.", "Use -State Interruptible, Uninterruptible, ... or Preempted.", _options.States);
        if (_options.MaxStacks is < 1 or > 1 << 18)
            throw new KernelDebugException("InvalidMaxStacks", KernelErrorCategory.InvalidArgument, "-MaxStacks must be between 1 and 262144.", null, _options.MaxStacks);
    }

    /// <inheritdoc />
    protected override void Configure(BpfSession s, BpfAttachMethod method)
    {
        s.SetGlobal("targ_state_mask", (uint)(_options.States & OffCpuStates.Blocked));
        if (_options.States.HasFlag(OffCpuStates.Preempted)) s.SetGlobal("targ_preempted", (byte)1);
        s.SetGlobal("targ_min_ns", Math.Max(1UL, (ulong)_options.MinimumBlock.Ticks * 100));
        if (_options.MaximumBlock is { } max) s.SetGlobal("targ_max_ns", (ulong)max.Ticks * 100);
        if (_options.KernelOnly) s.SetGlobal("targ_user_stacks", (byte)0);
        if (_options.IncludeWaker) s.SetGlobal("targ_waker", (byte)1);
        s.SetMapMaxEntries("kd_oc_stacks", (uint)_options.MaxStacks);
        if (!_options.IncludeWaker) s.SetMapMaxEntries("kd_oc_wakers", 1);
    }

    /// <inheritdoc />
    protected override IReadOnlyList<OffCpuTime> Decode(BpfInterval interval)
    {
        _stacks ??= new BpfStacks(interval.Session, "kd_oc_stacks", Root);
        var sums = new Dictionary<OffCpuKey, (ulong Ns, ulong Count)>();
        foreach (var (k, v) in interval.Drain("kd_oc_sums"))
        {
            var key = BpfAbi.Read<OffCpuKey>(k);
            key.Gen = 0;
            var val = BpfAbi.Read<OffCpuValue>(v);
            var acc = sums.GetValueOrDefault(key);
            sums[key] = (acc.Ns + val.TotalNs, acc.Count + val.Count);
        }
        var list = new List<OffCpuTime>(sums.Count);
        foreach (var (key, (ns, count)) in sums)
        {
            string comm = key.CommText();
            if (_options.CommandFilter is { } f && !f(comm)) continue;
            var kernel = _stacks.Kernel(key.Kstack);
            var user = _stacks.User(key.Ustack, (int)key.Tgid);
            string? path = CgroupNames.PathOf(key.Cgroup);
            list.Add(new OffCpuTime
            {
                ProcessId = (int)key.Tgid,
                ThreadId = (int)key.Pid,
                Command = comm,
                Total = BpfToolLoader.FromNanoseconds(ns),
                Blocks = count,
                Count = (long)(ns / 1000),
                Stack = kernel.Concat(user).ToList(),
                KernelFrameCount = kernel.Count,
                WakerProcessId = key.WakerTgid == 0 ? null : (int)key.WakerTgid,
                WakerCommand = key.WakerTgid == 0 ? null : key.WakerCommText(),
                WakerStack = _stacks.Kernel(key.WakerKstack),
                CgroupPath = path,
                ContainerId = Cgroups.ContainerId(path),
                AttachMethod = AttachMethod,
                OverheadPerEvent = interval.OverheadPerEvent,
                ProgramRunTime = interval.ProgramRunTime,
                StartTime = interval.Start,
                EndTime = interval.End,
            });
        }
        if (!interval.Final) _stacks.Collect(StillReferenced(interval.Session));
        _stacks.ForgetMappings();
        list.Sort((a, b) => b.Total.CompareTo(a.Total));
        return list;
    }

    // Stacks the next intervals may still need: those of the current generation's sums, of blocked tasks and of wakers.
    private static HashSet<ulong> StillReferenced(BpfSession s)
    {
        var set = new HashSet<ulong>();
        foreach (var (k, _) in s.Map("kd_oc_sums").ReadAll())
        {
            var key = BpfAbi.Read<OffCpuKey>(k);
            set.Add(key.Kstack); set.Add(key.Ustack); set.Add(key.WakerKstack);
        }
        foreach (var (_, v) in s.Map("kd_oc_start").ReadAll())
        {
            set.Add(BinaryPrimitives.ReadUInt64LittleEndian(v.AsSpan(8)));
            set.Add(BinaryPrimitives.ReadUInt64LittleEndian(v.AsSpan(16)));
        }
        foreach (var (_, v) in s.Map("kd_oc_wakers").ReadAll()) set.Add(BinaryPrimitives.ReadUInt64LittleEndian(v));
        return set;
    }
}
