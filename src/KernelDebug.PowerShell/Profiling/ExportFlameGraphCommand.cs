using System.Management.Automation;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Profiling;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Profiling;

/// <summary>
/// <para type="synopsis">Writes an interactive flame graph (SVG) from folded stacks.</para>
/// <para type="description">Export-FlameGraph writes one self-contained SVG file: each frame a box whose width is its share of the samples, the root at the bottom, with click-to-zoom, a Reset Zoom button and a Search box that highlights matching frames and shows their share — like flamegraph.pl's output, drawn by our own code. Input is FoldedStack records (ConvertTo-FoldedStack), folded text lines, or a folded file through -FoldedPath. It returns the file.</para>
/// </summary>
/// <example>
///   <code>Get-Content ./profile.folded | Export-FlameGraph -Path profile.svg -Title 'web1 CPU'</code>
///   <para>Draws a folded file written by any profiler.</para>
/// </example>
/// <example>
///   <code>Get-KernelOops -Path ./crash.log | ConvertTo-FoldedStack | Export-FlameGraph -Path crashes.svg</code>
///   <para>Draws the stacks of crash reports.</para>
/// </example>
[Cmdlet(VerbsData.Export, "FlameGraph", SupportsShouldProcess = true)]
[OutputType(typeof(FileInfo))]
public sealed class ExportFlameGraphCommand : KernelCmdlet
{
    private readonly List<FoldedStack> _stacks = new();
    private readonly ParseContext _ctx = new("pipeline");
    private int _line;

    /// <summary>
    /// <para type="description">The SVG file to write.</para>
    /// </summary>
    [Parameter(Mandatory = true, Position = 0)]
    public string Path { get; set; } = "";

    /// <summary>
    /// <para type="description">Folded stacks: FoldedStack records or folded text lines ('a;b;c 12').</para>
    /// </summary>
    [Parameter(ValueFromPipeline = true)]
    public object[]? InputObject { get; set; }

    /// <summary>
    /// <para type="description">A folded stack file to read instead of pipeline input.</para>
    /// </summary>
    [Parameter]
    public string? FoldedPath { get; set; }

    /// <summary>
    /// <para type="description">Title printed at the top of the graph.</para>
    /// </summary>
    [Parameter]
    public string Title { get; set; } = "Flame Graph";

    /// <summary>
    /// <para type="description">Width of the image in pixels (default 1200).</para>
    /// </summary>
    [Parameter]
    [ValidateRange(200, 20000)]
    public int Width { get; set; } = 1200;

    /// <summary>
    /// <para type="description">Colours: Hot (warm, for CPU samples; default) or OffCpu (blues, for time blocked, e.g. from Measure-OffCpuTime, whose counts are microseconds).</para>
    /// </summary>
    [Parameter]
    public FlameGraphPalette Palette { get; set; }

    /// <inheritdoc />
    protected override void Process()
    {
        foreach (var o in InputObject ?? [])
        {
            _line++;
            switch (o is PSObject p ? p.BaseObject : o)
            {
                case FoldedStack s: _stacks.Add(s); break;
                case string text when FoldedStackParser.TryParseLine(text, out var s): _stacks.Add(s!); break;
                case string text when string.IsNullOrWhiteSpace(text): break;
                case var other: _ctx.Warn(_line, "not a folded stack", other?.ToString()); break;
            }
        }
        WriteIssues(_ctx);
    }

    /// <inheritdoc />
    protected override void End()
    {
        if (FoldedPath is not null)
        {
            string folded = SessionState.Path.GetUnresolvedProviderPathFromPSPath(FoldedPath);
            if (!File.Exists(folded)) ThrowKernelError(Core.Errors.KernelErrors.FileNotFound(folded, "a profiler's folded output"));
            var ctx = new ParseContext(folded);
            using var reader = Core.KernelRoot.OpenTextFile(folded);
            _stacks.AddRange(FoldedStackParser.Parse(reader, ctx));
            WriteIssues(ctx);
        }
        string file = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
        if (!ShouldProcess(file, "Write flame graph")) return;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(file)!);
        File.WriteAllText(file, FlameGraphWriter.Render(FoldedStackParser.Merge(_stacks), Title, Width, Palette == FlameGraphPalette.OffCpu ? "us" : "samples", Palette));
        // As New-Item and Out-File's -PassThru do: the provider's item, with PSPath/PSParentPath, so the FileSystem view shows it.
        WriteObject(InvokeProvider.Item.Get(file), enumerateCollection: true);
    }
}
