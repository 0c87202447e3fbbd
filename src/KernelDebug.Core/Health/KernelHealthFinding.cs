using KernelDebug.Core.Parsing;
namespace KernelDebug.Core.Health;

/// <summary>How bad a finding is. Sorts from harmless to urgent, so <c>Where-Object Severity -ge Warning</c> works.</summary>
public enum HealthSeverity
{
    /// <summary>Checked and fine.</summary>
    Ok = 0,
    /// <summary>Worth knowing; nothing is wrong (also: a check that could not run here).</summary>
    Info = 1,
    /// <summary>Something to look at soon.</summary>
    Warning = 2,
    /// <summary>Something is wrong.</summary>
    Error = 3,
    /// <summary>Something is badly wrong now (data loss, crash, hardware failure).</summary>
    Critical = 4,
}

/// <summary>Which part of the kernel a check looks at.</summary>
public enum HealthArea
{
    /// <summary>Build, configuration, taint, debug features.</summary>
    Kernel,
    /// <summary>The kernel log.</summary>
    Log,
    /// <summary>Memory, slab, swap, reclaim.</summary>
    Memory,
    /// <summary>CPU usage and load.</summary>
    Cpu,
    /// <summary>Blocked tasks, hung-task detection, lockdep.</summary>
    Locking,
    /// <summary>Machine checks and memory errors.</summary>
    Hardware,
    /// <summary>Tracing and BPF facilities.</summary>
    Tracing,
    /// <summary>Crash reports and crash-dump readiness.</summary>
    Crash,
}

/// <summary>One answer of the health check: what was found, how bad, the records behind it, and what to do.</summary>
public sealed record KernelHealthFinding
{
    /// <summary>How bad it is.</summary>
    public required HealthSeverity Severity { get; init; }
    /// <summary>Area of the check.</summary>
    public required HealthArea Area { get; init; }
    /// <summary>Stable check id, e.g. <c>KD1001</c> (see <c>Get-Help about_KernelHealthChecks</c>).</summary>
    public required string CheckId { get; init; }
    /// <summary>Short name of the check.</summary>
    public required string Check { get; init; }
    /// <summary>What was found, with the numbers.</summary>
    public required string Message { get; init; }
    /// <summary>What to do about it: the CONFIG_ option, sysctl or command; null when nothing is to be done.</summary>
    public string? Recommendation { get; init; }
    /// <summary>The records behind the finding (memory readings, oopses, tasks...).</summary>
    public IReadOnlyList<object> Evidence { get; init => field = Flat.List(value); } = FlatList<object>.Empty;
    /// <summary>The measured value the severity was decided on, when there is one (a percentage, a count).</summary>
    public double? Value { get; init; }
    /// <summary>Host the finding is about.</summary>
    public string? HostName { get; init; }
}
