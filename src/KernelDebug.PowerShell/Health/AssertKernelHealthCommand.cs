using System.Management.Automation;
using KernelDebug.Core.Health;

namespace KernelDebug.PowerShell.Health;

/// <summary>
/// <para type="synopsis">Fails when any health finding is worse than a maximum severity: a one-line check for runbooks, CI and Pester.</para>
/// <para type="description">Assert-KernelHealth takes findings from the pipeline (or runs Invoke-KernelHealthCheck itself with the same selection parameters) and throws a terminating error, ErrorId KernelHealthAssertionFailed, listing every finding whose Severity is above -MaximumSeverity. When all findings are within the limit it writes nothing, unless -PassThru is given. In Pester: { Assert-KernelHealth -Area Memory -MaximumSeverity Warning } | Should -Not -Throw.</para>
/// </summary>
/// <example>
///   <code>Assert-KernelHealth -MaximumSeverity Warning</code>
///   <para>Throws if any check finds an Error or Critical problem on this machine.</para>
/// </example>
/// <example>
///   <code>Invoke-KernelHealthCheck -Area Crash,Log | Assert-KernelHealth -MaximumSeverity Info</code>
///   <para>Fails a CI job when the kernel log holds crash reports or crash dumps are not set up.</para>
/// </example>
[Cmdlet(VerbsLifecycle.Assert, "KernelHealth")]
[OutputType(typeof(KernelHealthFinding))]
public sealed class AssertKernelHealthCommand : HealthCheckCmdlet
{
    private readonly List<KernelHealthFinding> _input = new();

    /// <summary>
    /// <para type="description">Findings to judge, from Invoke-KernelHealthCheck. Without input the checks are run here.</para>
    /// </summary>
    [Parameter(ValueFromPipeline = true)]
    public KernelHealthFinding[]? InputObject { get; set; }

    /// <summary>
    /// <para type="description">The worst severity allowed. Default Warning: Error and Critical findings fail.</para>
    /// </summary>
    [Parameter]
    public HealthSeverity MaximumSeverity { get; set; } = HealthSeverity.Warning;

    /// <summary>
    /// <para type="description">Write the findings to the pipeline when the assertion holds.</para>
    /// </summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void Process()
    {
        if (InputObject is not null) _input.AddRange(InputObject);
    }

    /// <inheritdoc />
    protected override void End()
    {
        var findings = MyInvocation.ExpectingInput ? _input : RunChecks();
        var bad = findings.Where(f => f.Severity > MaximumSeverity).ToList();
        if (bad.Count > 0)
        {
            string list = string.Join(Environment.NewLine, bad.Select(f => $"  {f.Severity} {f.CheckId} {f.Check}: {f.Message}"));
            var ex = new InvalidOperationException($"{bad.Count} health finding(s) above {MaximumSeverity}:{Environment.NewLine}{list}");
            var record = new ErrorRecord(ex, "KernelHealthAssertionFailed", ErrorCategory.InvalidResult, bad)
            {
                ErrorDetails = new ErrorDetails(ex.Message) { RecommendedAction = string.Join(" ", bad.Select(f => f.Recommendation).Where(r => r is not null).Distinct()) },
            };
            ThrowTerminatingError(record);
        }
        if (PassThru) WriteObject(findings, enumerateCollection: true);
    }
}
