using KernelDebug.Core.Parsing;
namespace KernelDebug.Core.Bpf;

/// <summary>
/// Latency of one system call (per process when grouped) over one measurement interval, measured in the kernel by
/// Measure-SyscallLatency: counts, errors by errno, exact total/min/mean/max and interpolated percentiles from a
/// log-linear histogram.
/// </summary>
public sealed record SyscallLatency : BpfDistribution
{
    /// <summary>System call name, e.g. openat.</summary>
    public string Syscall { get; init; } = "";
    /// <summary>System call number on this architecture.</summary>
    public int SyscallId { get; init; }
    /// <summary>Process id (thread group id) when grouped by process, else null.</summary>
    public int? ProcessId { get; init; }
    /// <summary>Process command name (comm) when grouped by process, else null.</summary>
    public string? Command { get; init; }
    /// <summary>Calls that returned an error (-4095..-1).</summary>
    public ulong Errors { get; init; }
    /// <summary>Failed calls per errno name (ENOENT → 3).</summary>
    public IReadOnlyDictionary<string, ulong> ErrorsByErrno { get; init => field = Flat.Map(value); } = FlatMap<string, ulong>.Empty;
    /// <summary>
    /// Time the BPF programs ran during the interval (all CPUs): <see cref="OverheadPerEvent"/> times the system calls
    /// the programs ran for, or null when statistics are unavailable.
    /// </summary>
    public TimeSpan? ProgramRunTime { get; init; }
    /// <summary>Exits seen without their entry during the interval (calls already in flight at attach; all processes).</summary>
    public ulong DroppedExits { get; init; }
}
