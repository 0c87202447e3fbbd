using System.Collections;
using System.Management.Automation;
using KernelDebug.Core.Profiling;
using KernelDebug.Core.Symbols;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Profiling;

/// <summary>
/// <para type="synopsis">Converts stacks to Brendan Gregg's folded format, one line per distinct stack with its count.</para>
/// <para type="description">ConvertTo-FoldedStack takes any record that carries a stack — CPU profile samples, crash reports, blocked tasks — through the properties Frames (StackFrame objects or function names, leaf first as the kernel prints them) and Count (samples; 1 when absent), optionally under the process name in Command as the root frame, and emits FoldedStack records whose text form is the folded line (root;...;leaf count). Identical stacks are merged. Pipe the result to Export-FlameGraph, or to Set-Content for flamegraph.pl and speedscope.</para>
/// </summary>
/// <example>
///   <code>Get-KernelOops -Path ./crash.log | ConvertTo-FoldedStack | Export-FlameGraph -Path crashes.svg</code>
///   <para>Draws where a set of crash reports happened.</para>
/// </example>
/// <example>
///   <code>Get-BlockedTask | ConvertTo-FoldedStack -IncludeCommand | ForEach-Object ToString | Set-Content blocked.folded</code>
///   <para>Writes the stacks of blocked tasks as a folded file, each under its command name.</para>
/// </example>
[Cmdlet(VerbsData.ConvertTo, "FoldedStack")]
[OutputType(typeof(FoldedStack))]
public sealed class ConvertToFoldedStackCommand : KernelCmdlet
{
    private readonly List<FoldedStack> _stacks = new();

    /// <summary>
    /// <para type="description">The stack, leaf first: StackFrame objects or function names. Bound from the Frames (or Stack) property of piped records.</para>
    /// </summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Stack")]
    [AllowEmptyCollection]
    public object[] Frames { get; set; } = [];

    /// <summary>
    /// <para type="description">How many samples the stack stands for. Bound from a Count property; 1 when absent.</para>
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public long Count { get; set; } = 1;

    /// <summary>
    /// <para type="description">Process name put at the root of the stack with -IncludeCommand. Bound from a Command property.</para>
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Command { get; set; }

    /// <summary>
    /// <para type="description">Put the process name (Command) at the root, so the graph splits by process first.</para>
    /// </summary>
    [Parameter]
    public SwitchParameter IncludeCommand { get; set; }

    /// <summary>
    /// <para type="description">The frames are already root first (not as the kernel prints them).</para>
    /// </summary>
    [Parameter]
    public SwitchParameter RootFirst { get; set; }

    /// <inheritdoc />
    protected override void Process()
    {
        var names = Frames.Select(FrameName).Where(n => n.Length > 0).ToList();
        if (RootFirst) names.Reverse();
        if (names.Count == 0) return;
        _stacks.Add(FoldedStack.FromLeafFirst(names, Count, IncludeCommand ? Command ?? "[unknown]" : null));
    }

    /// <inheritdoc />
    protected override void End() => WriteObject(FoldedStackParser.Merge(_stacks), enumerateCollection: true);

    private static string FrameName(object? o) => (o is PSObject p ? p.BaseObject : o) switch
    {
        StackFrame f => f.Function,
        string s => s,
        null => "",
        var other => other.ToString() ?? "",
    };
}
