using KernelDebug.Core.Parsing;
using KernelDebug.Core.Symbols;

namespace KernelDebug.Core.Bpf.Tools;

/// <summary>The flags of lock:contention_begin (LCB_F_* in include/trace/events/lock.h), OR-ed over one wait.</summary>
[Flags]
public enum LockContentionFlags : uint
{
    /// <summary>No flag.</summary>
    None = 0,
    /// <summary>LCB_F_SPIN: spinning (spinlock, rwlock, or a mutex's optimistic spin).</summary>
    Spin = 1 << 0,
    /// <summary>LCB_F_READ: a reader.</summary>
    Read = 1 << 1,
    /// <summary>LCB_F_WRITE: a writer.</summary>
    Write = 1 << 2,
    /// <summary>LCB_F_RT: an rt-mutex (PREEMPT_RT locks).</summary>
    Rt = 1 << 3,
    /// <summary>LCB_F_PERCPU: a per-CPU rwsem.</summary>
    PerCpu = 1 << 4,
    /// <summary>LCB_F_MUTEX: a mutex.</summary>
    Mutex = 1 << 5,
}

/// <summary>
/// Contention on one kernel lock (or at one calling stack with -ByCaller) over one interval, measured in the kernel by
/// Measure-LockContention from lock:contention_begin/contention_end: waits, total and maximum wait, percentiles.
/// </summary>
public sealed record LockContention
{
    /// <summary>The lock's address, or null when grouped by caller.</summary>
    public ulong? LockAddress { get; init; }
    /// <summary>LockAddress in hex as the kernel prints it (0x...); LockAddress stays numeric for filtering.</summary>
    public string? LockAddressHex => Flat.Hex(LockAddress);
    /// <summary>The static lock's symbol (name+offset) from kallsyms, or null for locks in allocated memory.</summary>
    public string? LockSymbol { get; init; }
    /// <summary>Lock kind decoded from the flags: spinlock, rwlock, mutex, rwsem, rt-mutex, percpu-rwsem (":read"/":write" where known).</summary>
    public string LockType { get; init; } = "";
    /// <summary>The raw LCB_F_* flags of the waits.</summary>
    public LockContentionFlags Flags { get; init; }
    /// <summary>The first frame of the calling stack outside the locking code, or null without -ByCaller.</summary>
    public string? Caller { get; init; }
    /// <summary>The calling kernel stack, innermost first (with -ByCaller), symbolized.</summary>
    public IReadOnlyList<StackFrame> Stack { get; init => field = Flat.List(value); } = FlatList<StackFrame>.Empty;
    /// <summary>Process id when grouped by process, else null.</summary>
    public int? ProcessId { get; init; }
    /// <summary>Contended waits.</summary>
    public ulong Count { get; init; }
    /// <summary>Waits that ended without the lock (interrupted or timed out: contention_end ret != 0).</summary>
    public ulong Failed { get; init; }
    /// <summary>Sum of all waits.</summary>
    public TimeSpan TotalWait { get; init; }
    /// <summary>Longest wait.</summary>
    public TimeSpan MaxWait { get; init; }
    /// <summary>Mean wait.</summary>
    public TimeSpan MeanWait { get; init; }
    /// <summary>Median wait (interpolated).</summary>
    public TimeSpan P50 { get; init; }
    /// <summary>99th percentile wait (interpolated).</summary>
    public TimeSpan P99 { get; init; }
    /// <summary>The wait distribution in nanoseconds.</summary>
    public Histogram Histogram { get; init; } = new();
    /// <summary>How the programs were attached.</summary>
    public BpfAttachMethod AttachMethod { get; init; }
    /// <summary>BPF program nanoseconds per contention event in the interval, or null without BPF statistics.</summary>
    public double? OverheadPerEvent { get; init; }
    /// <summary>Ends seen without their begin in the interval (waits in progress at attach).</summary>
    public ulong MissedBegins { get; init; }
    /// <summary>Start of the interval.</summary>
    public DateTimeOffset StartTime { get; init; }
    /// <summary>End of the interval.</summary>
    public DateTimeOffset EndTime { get; init; }

    /// <summary>
    /// The lock kind of a wait's flags: mutex (also its optimistic spin), rt-mutex, percpu-rwsem, rwlock (spinning
    /// reader/writer), rwsem (sleeping reader/writer), spinlock.
    /// </summary>
    public static string Kind(LockContentionFlags f)
    {
        string rw = f.HasFlag(LockContentionFlags.Write) ? ":write" : f.HasFlag(LockContentionFlags.Read) ? ":read" : "";
        if (f.HasFlag(LockContentionFlags.Mutex)) return "mutex";
        if (f.HasFlag(LockContentionFlags.Rt)) return "rt-mutex" + rw;
        if (f.HasFlag(LockContentionFlags.PerCpu)) return "percpu-rwsem" + rw;
        if (rw.Length > 0) return (f.HasFlag(LockContentionFlags.Spin) ? "rwlock" : "rwsem") + rw;
        if (f.HasFlag(LockContentionFlags.Spin)) return "spinlock";
        return f == LockContentionFlags.None ? "unknown" : $"flags:0x{(uint)f:x}";
    }
}

/// <summary>What Measure-LockContention measures.</summary>
public sealed record LockContentionOptions : Engine.BpfToolOptions
{
    /// <summary>Only waits of these processes (thread group ids); empty = all. At most 16.</summary>
    public IReadOnlyList<int> ProcessIds { get; init; } = Array.Empty<int>();
    /// <summary>Only tasks in this cgroup directory or below (v1 or v2; filtered in the kernel).</summary>
    public string? Cgroup { get; init; }
    /// <summary>Group by calling kernel stack instead of by lock address.</summary>
    public bool ByCaller { get; init; }
    /// <summary>Group by process as well.</summary>
    public bool ByProcess { get; init; }
    /// <summary>Count only waits at least this long (filtered in the kernel).</summary>
    public TimeSpan MinimumWait { get; init; }
}
