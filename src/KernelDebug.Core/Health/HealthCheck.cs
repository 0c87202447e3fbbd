using KernelDebug.Core.Inventory;
using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Health;

/// <summary>
/// One check of the health check, as data: a stable id, its area, what it looks at, whether it needs the live
/// system, and the function that turns readings into findings.
/// </summary>
/// <param name="CheckId">Stable id (<c>KD1001</c>).</param>
/// <param name="Area">Area.</param>
/// <param name="Name">Short name.</param>
/// <param name="Description">What it checks and how it judges (shown in about_KernelHealthChecks).</param>
/// <param name="NeedsLive">True when it samples the running system (CPU over an interval, tasks) and cannot run on a snapshot.</param>
/// <param name="Run">Produces the findings.</param>
public sealed record HealthCheck(string CheckId, HealthArea Area, string Name, string Description, bool NeedsLive,
    Func<HealthContext, IEnumerable<KernelHealthFinding>> Run);

/// <summary>What a check run has at hand: the root, thresholds, sample interval, cancellation, and readings shared between checks.</summary>
public sealed class HealthContext
{
    private readonly Dictionary<string, object?> _cache = new();
    private KernelInfo? _info;

    /// <summary>Creates a context.</summary>
    public HealthContext(KernelRoot root, HealthThresholds thresholds, TimeSpan sampleInterval, CancellationToken cancel)
    {
        Root = root;
        Thresholds = thresholds;
        SampleInterval = sampleInterval;
        Cancel = cancel;
        Issues = new ParseContext(root.Path);
    }

    /// <summary>The kernel tree checked.</summary>
    public KernelRoot Root { get; }
    /// <summary>Limits.</summary>
    public HealthThresholds Thresholds { get; }
    /// <summary>How long sampling checks (CPU) measure.</summary>
    public TimeSpan SampleInterval { get; }
    /// <summary>Ctrl+C.</summary>
    public CancellationToken Cancel { get; }
    /// <summary>Parse problems met while reading; the cmdlet shows them as warnings.</summary>
    public ParseContext Issues { get; }
    /// <summary>Called with a status text while a check waits (the cmdlet shows it as progress).</summary>
    public Action<string>? Status { get; set; }

    /// <summary>The kernel's identity, read once.</summary>
    public KernelInfo Info => _info ??= KernelInfoReader.Read(Root, Issues);

    /// <summary>A reading shared by several checks, computed once per run.</summary>
    public T Get<T>(string key, Func<T> read)
    {
        if (!_cache.TryGetValue(key, out var v)) _cache[key] = v = read();
        return (T)v!;
    }

    /// <summary>The check being run (set by <see cref="HealthCheckRunner"/>).</summary>
    public HealthCheck? Current { get; internal set; }

    /// <summary>Makes a finding of the check being run, with this host's name.</summary>
    public KernelHealthFinding Finding(HealthSeverity severity, string message,
        string? recommendation = null, double? value = null, params object[] evidence) =>
        Finding(Current ?? throw new InvalidOperationException("No health check is running."), severity, message, recommendation, value, evidence);

    /// <summary>Makes a finding of <paramref name="check"/> with this host's name.</summary>
    public KernelHealthFinding Finding(HealthCheck check, HealthSeverity severity, string message,
        string? recommendation = null, double? value = null, params object[] evidence) => new()
    {
        Severity = severity,
        Area = check.Area,
        CheckId = check.CheckId,
        Check = check.Name,
        Message = message,
        Recommendation = recommendation,
        Value = value,
        Evidence = evidence,
        HostName = Info.HostName,
    };
}
