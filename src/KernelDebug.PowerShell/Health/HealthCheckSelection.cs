using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using KernelDebug.Core.Health;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Health;

/// <summary>Parameters that select and tune health checks, shared by the cmdlets that run them.</summary>
public abstract class HealthCheckCmdlet : KernelReaderCmdlet
{
    /// <summary>
    /// <para type="description">Only run checks of these areas (Kernel, Log, Memory, Cpu, Locking, Hardware, Tracing, Crash).</para>
    /// </summary>
    [Parameter]
    public HealthArea[]? Area { get; set; }

    /// <summary>
    /// <para type="description">Only run the checks with these ids (wildcards allowed, e.g. KD13*). See Get-Help about_KernelHealthChecks.</para>
    /// </summary>
    [Parameter]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(HealthCheckIdCompleter))]
    public string[]? CheckId { get; set; }

    /// <summary>
    /// <para type="description">Skip the checks with these ids (wildcards allowed).</para>
    /// </summary>
    [Parameter]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(HealthCheckIdCompleter))]
    public string[]? ExcludeCheckId { get; set; }

    /// <summary>
    /// <para type="description">Thresholds to change for this run, e.g. @{ MemoryWarningPercent = 75; LoadPerCpuWarning = 1.5 }. Unknown names are an error that lists the known ones.</para>
    /// </summary>
    [Parameter]
    public Hashtable? Threshold { get; set; }

    /// <summary>
    /// <para type="description">How long checks that sample the running system (CPU usage) measure. Default 1 second.</para>
    /// </summary>
    [Parameter]
    [DurationTransformation]
    public TimeSpan SampleInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The checks the parameters select.</summary>
    protected IReadOnlyList<HealthCheck> SelectedChecks()
    {
        var include = new NameFilter(CheckId);
        var exclude = new NameFilter(ExcludeCheckId);
        // Match every check against every id first, so an id naming no check is reported even when -Area drops it.
        var selected = HealthChecks.All.Where(c => include.IsMatch(c.CheckId) & (exclude.IsEmpty || !exclude.IsMatch(c.CheckId))
            && (Area is null || Area.Contains(c.Area))).ToList();
        const string remedy = "Get-Help about_KernelHealthChecks lists the check ids (KD1001...).";
        include.ReportUnmatched(this, "HealthCheckNotFound", "health check", remedy);
        exclude.ReportUnmatched(this, "HealthCheckNotFound", "health check", remedy);
        return selected;
    }

    /// <summary>Runs the selected checks, showing progress, and returns every finding.</summary>
    protected List<KernelHealthFinding> RunChecks(Action<KernelHealthFinding>? onFinding = null)
    {
        var thresholds = new HealthThresholds();
        if (Threshold is not null)
        {
            foreach (DictionaryEntry e in Threshold)
            {
                try { thresholds.Set(e.Key.ToString()!, e.Value!); }
                catch (ArgumentException ex)
                {
                    ThrowTerminatingError(new ErrorRecord(ex, "UnknownHealthThreshold", ErrorCategory.InvalidArgument, e.Key));
                }
            }
        }
        var checks = SelectedChecks();
        var ctx = new HealthContext(KernelRoot, thresholds, SampleInterval, StopToken);
        var progress = new ProgressRecord(1, "Kernel health check", "Starting");
        ctx.Status = s => { progress.StatusDescription = s; WriteProgress(progress); };
        var all = new List<KernelHealthFinding>();
        for (int i = 0; i < checks.Count; i++)
        {
            progress.StatusDescription = $"{checks[i].CheckId} {checks[i].Name}";
            progress.PercentComplete = i * 100 / checks.Count;
            WriteProgress(progress);
            foreach (var f in HealthCheckRunner.Run([checks[i]], ctx))
            {
                all.Add(f);
                onFinding?.Invoke(f);
            }
            WriteIssues(ctx.Issues);
        }
        progress.RecordType = ProgressRecordType.Completed;
        WriteProgress(progress);
        return all;
    }
}

/// <summary>Completes health check ids with their names.</summary>
public sealed class HealthCheckIdCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var p = new WildcardPattern(wordToComplete + "*", WildcardOptions.IgnoreCase);
        return HealthChecks.All.Where(c => p.IsMatch(c.CheckId))
            .Select(c => new CompletionResult(c.CheckId, c.CheckId, CompletionResultType.ParameterValue, $"{c.Area}: {c.Name}"));
    }
}
