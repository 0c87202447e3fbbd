using KernelDebug.Core.Parsing;
namespace KernelDebug.Core.Bpf;

/// <summary>
/// Latency of one system call (per process when grouped) over one measurement interval, measured in the kernel by
/// Measure-SyscallLatency: counts, errors by errno, exact total/min/mean/max and interpolated percentiles from a
/// log-linear histogram.
/// </summary>
public sealed record SyscallLatency
{
    /// <summary>System call name, e.g. openat.</summary>
    public string Syscall { get; init; } = "";
    /// <summary>System call number on this architecture.</summary>
    public int SyscallId { get; init; }
    /// <summary>Process id (thread group id) when grouped by process, else null.</summary>
    public int? ProcessId { get; init; }
    /// <summary>Process command name (comm) when grouped by process, else null.</summary>
    public string? Command { get; init; }
    /// <summary>Completed calls measured.</summary>
    public ulong Count { get; init; }
    /// <summary>Calls that returned an error (-4095..-1).</summary>
    public ulong Errors { get; init; }
    /// <summary>Failed calls per errno name (ENOENT → 3).</summary>
    public IReadOnlyDictionary<string, ulong> ErrorsByErrno { get; init => field = Flat.Map(value); } = FlatMap<string, ulong>.Empty;
    /// <summary>Sum of all latencies.</summary>
    public TimeSpan Total { get; init; }
    /// <summary>Shortest call.</summary>
    public TimeSpan Min { get; init; }
    /// <summary>Mean latency.</summary>
    public TimeSpan Mean { get; init; }
    /// <summary>Median latency (interpolated).</summary>
    public TimeSpan P50 { get; init; }
    /// <summary>90th percentile latency (interpolated).</summary>
    public TimeSpan P90 { get; init; }
    /// <summary>99th percentile latency (interpolated).</summary>
    public TimeSpan P99 { get; init; }
    /// <summary>Longest call.</summary>
    public TimeSpan Max { get; init; }
    /// <summary>The latency distribution in nanoseconds.</summary>
    public Histogram Histogram { get; init; } = new();
    /// <summary>How the programs were attached (TpBtf, RawTp, Tracepoint).</summary>
    public BpfAttachMethod AttachMethod { get; init; }
    /// <summary>
    /// BPF program time per system call in nanoseconds (entry + exit program, averaged over every call the programs
    /// ran for, from kernel BPF statistics sampled 100 ms of every second), or null when statistics are unavailable.
    /// </summary>
    public double? OverheadPerEvent { get; init; }
    /// <summary>
    /// Time the BPF programs ran during the interval (all CPUs): <see cref="OverheadPerEvent"/> times the system calls
    /// the programs ran for, or null when statistics are unavailable.
    /// </summary>
    public TimeSpan? ProgramRunTime { get; init; }
    /// <summary>Exits seen without their entry during the interval (calls already in flight at attach; all processes).</summary>
    public ulong DroppedExits { get; init; }
    /// <summary>Start of the interval.</summary>
    public DateTimeOffset StartTime { get; init; }
    /// <summary>End of the interval.</summary>
    public DateTimeOffset EndTime { get; init; }

    /// <summary>Nanoseconds to TimeSpan (100 ns ticks, rounded).</summary>
}
