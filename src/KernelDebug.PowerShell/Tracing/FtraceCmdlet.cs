using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using KernelDebug.Core;
using KernelDebug.Core.Tracing;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Tracing;

/// <summary>Base of the ftrace cmdlets: finds (or mounts, and says so) the live tracefs.</summary>
public abstract class FtraceCmdlet : KernelCmdlet
{
    private TraceFs? _fs;

    /// <summary>The live tracefs, mounted when it was absent (a verbose message says so).</summary>
    protected TraceFs TraceFs
    {
        get
        {
            if (_fs is not null) return _fs;
            _fs = Core.Tracing.TraceFs.Locate(KernelRoot.Live, mountIfMissing: true);
            if (_fs.MountedNow) WriteVerbose($"tracefs was not mounted; mounted it at {_fs.Path}.");
            return _fs;
        }
    }

    /// <summary>Whether a capture name matches any of the patterns (wildcards; with or without the kerneldebug- prefix).</summary>
    internal static bool NameMatches(string name, IEnumerable<WildcardPattern> patterns) =>
        patterns.Any(p => p.IsMatch(name) || (name.StartsWith(FtraceOwnerMarker.InstancePrefix) && p.IsMatch(name[FtraceOwnerMarker.InstancePrefix.Length..])));

    internal static WildcardPattern[] Patterns(string[]? names) =>
        (names is { Length: > 0 } ? names : ["*"]).Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToArray();
}

/// <summary>
/// Base of the cmdlets that create a tracefs instance for events (Start-FtraceCapture, Trace-KernelEvent): what
/// narrows the recording, declared once. Not generic, so the help generator finds the parameters' docs here.
/// </summary>
public abstract class FtraceSelectionCmdlet : FtraceCmdlet
{
    /// <summary>
    /// <para type="description">A filter expression in the kernel's syntax (Documentation/trace/events.rst), applied to every selected event, such as 'id == 257' or 'prev_pid != 0 &amp;&amp; next_comm ~ "nginx*"'.</para>
    /// </summary>
    [Parameter]
    public string? Filter { get; set; }

    /// <summary>
    /// <para type="description">Record only events of these process (thread) ids (set_event_pid).</para>
    /// </summary>
    [Parameter]
    public int[] ProcessId { get; set; } = Array.Empty<int>();

    /// <summary>
    /// <para type="description">Record only on these CPUs (tracing_cpumask).</para>
    /// </summary>
    [Parameter]
    public int[] Cpu { get; set; } = Array.Empty<int>();

    /// <summary>
    /// <para type="description">Ring-buffer size per CPU in bytes (4MB works); the kernel rounds it up to whole pages. Default: the kernel's instance default.</para>
    /// </summary>
    [Parameter]
    [ValidateRange(4096, long.MaxValue)]
    public long? BufferSize { get; set; }
}

/// <summary>Completes <c>system:event</c> names from tracefs <c>available_events</c>.</summary>
public sealed class TracepointCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        TraceFs fs;
        try { fs = TraceFs.Locate(KernelRoot.Live, mountIfMissing: false); }
        catch (Core.Errors.KernelDebugException) { yield break; }
        string word = wordToComplete.Trim('\'', '"');
        var pattern = new WildcardPattern(word + "*", WildcardOptions.IgnoreCase);
        var catalog = new TraceEventCatalog(fs, new Core.Parsing.ParseContext("available_events"));
        var systems = new HashSet<string>();
        foreach (var ev in catalog.AvailableEvents)
        {
            if (!word.Contains(':'))
            {
                string sys = ev[..ev.IndexOf(':')] + ":*";
                if (pattern.IsMatch(sys) && systems.Add(sys)) yield return new CompletionResult(sys, sys, CompletionResultType.ParameterValue, "every event of " + sys[..^2]);
            }
            if (pattern.IsMatch(ev) || pattern.IsMatch(ev[(ev.IndexOf(':') + 1)..]))
                yield return new CompletionResult(ev, ev, CompletionResultType.ParameterValue, ev);
        }
    }
}
