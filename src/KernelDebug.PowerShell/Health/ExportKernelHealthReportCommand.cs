using System.Management.Automation;
using KernelDebug.Core.Health;
using KernelDebug.Core.Inventory;
using KernelDebug.Core.Parsing;

namespace KernelDebug.PowerShell.Health;

/// <summary>
/// <para type="synopsis">Writes the kernel health report: one self-contained HTML file with findings, evidence and charts.</para>
/// <para type="description">Export-KernelHealthReport writes an HTML file with no external assets (inline CSS and SVG), so it can be mailed, attached to a ticket or archived by CI: the host summary, the findings by severity with a filter, each finding's evidence as a table, and charts where a picture reads faster than numbers — memory breakdown, the largest slab caches, CPU usage over the sample, and any latency histograms the findings carry. Findings come from the pipeline (Invoke-KernelHealthCheck) or, without input, from running the checks here. It returns the file.</para>
/// </summary>
/// <example>
///   <code>Export-KernelHealthReport -Path ./kernel-health.html</code>
///   <para>Runs every check and writes the report.</para>
/// </example>
/// <example>
///   <code>Invoke-KernelHealthCheck -Root ./web1-snapshot | Export-KernelHealthReport -Path ./web1.html -Root ./web1-snapshot</code>
///   <para>Reports on a snapshot taken on another machine.</para>
/// </example>
[Cmdlet(VerbsData.Export, "KernelHealthReport", SupportsShouldProcess = true)]
[OutputType(typeof(FileInfo))]
public sealed class ExportKernelHealthReportCommand : HealthCheckCmdlet
{
    private readonly List<KernelHealthFinding> _input = new();

    /// <summary>
    /// <para type="description">The HTML file to write. Relative paths are taken from the current location.</para>
    /// </summary>
    [Parameter(Mandatory = true, Position = 0)]
    public string Path { get; set; } = "";

    /// <summary>
    /// <para type="description">Findings to report, from Invoke-KernelHealthCheck. Without input the checks are run here.</para>
    /// </summary>
    [Parameter(ValueFromPipeline = true)]
    public KernelHealthFinding[]? InputObject { get; set; }

    /// <inheritdoc />
    protected override void Process()
    {
        if (InputObject is not null) _input.AddRange(InputObject);
    }

    /// <inheritdoc />
    protected override void End()
    {
        var findings = MyInvocation.ExpectingInput ? _input : RunChecks();
        string file = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
        if (!ShouldProcess(file, "Write kernel health report")) return;
        var host = KernelInfoReader.Read(KernelRoot, new ParseContext(KernelRoot.Path));
        string html = HealthReportWriter.Render(host, findings, HealthCharts.From(findings), DateTimeOffset.Now);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(file)!);
        File.WriteAllText(file, html);
        // As New-Item and Out-File's -PassThru do: the provider's item, with PSPath/PSParentPath, so the FileSystem view shows it.
        WriteObject(InvokeProvider.Item.Get(file), enumerateCollection: true);
    }
}
