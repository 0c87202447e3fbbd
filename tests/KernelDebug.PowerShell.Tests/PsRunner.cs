using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using KernelDebug.TestSupport;

namespace KernelDebug.PowerShell.Tests;

/// <summary>What one in-process pipeline produced.</summary>
public sealed class PsResult
{
    /// <summary>Objects written to the output stream.</summary>
    public List<PSObject> Output { get; } = new();
    /// <summary>Non-terminating errors.</summary>
    public List<ErrorRecord> Errors { get; } = new();
    /// <summary>Warnings.</summary>
    public List<string> Warnings { get; } = new();
    /// <summary>Verbose messages.</summary>
    public List<string> Verbose { get; } = new();
    /// <summary>Progress records.</summary>
    public List<ProgressRecord> Progress { get; } = new();
    /// <summary>The terminating error, if the pipeline failed.</summary>
    public ErrorRecord? Terminating { get; set; }

    /// <summary>The output's base objects of one type.</summary>
    public List<T> Objects<T>() => Output.Select(o => o.BaseObject).OfType<T>().ToList();

    /// <summary>Everything for an assertion message.</summary>
    public override string ToString() =>
        $"output: {Output.Count}, errors: [{string.Join("; ", Errors.Select(e => e.FullyQualifiedErrorId + ": " + e))}], " +
        $"warnings: [{string.Join("; ", Warnings)}], terminating: {Terminating?.FullyQualifiedErrorId} {Terminating}";
}

/// <summary>
/// Runs KernelDebug cmdlets in-process through Microsoft.PowerShell.SDK: the cmdlets of the referenced assembly
/// and the repository's format files, in a fresh runspace per call.
/// </summary>
public static class PsRunner
{
    private static readonly Lazy<InitialSessionState> State = new(() =>
    {
        var iss = InitialSessionState.CreateDefault2();
        var asm = typeof(KernelDebug.PowerShell.Infrastructure.KernelCmdlet).Assembly;
        foreach (var t in asm.GetTypes())
        {
            var attr = (CmdletAttribute?)Attribute.GetCustomAttribute(t, typeof(CmdletAttribute));
            if (attr is not null && !t.IsAbstract)
                iss.Commands.Add(new SessionStateCmdletEntry($"{attr.VerbName}-{attr.NounName}", t, null));
        }
        foreach (var f in Directory.EnumerateFiles(Path.Combine(TestPaths.RepoRoot, "formats"), "*.format.ps1xml"))
            iss.Formats.Add(new SessionStateFormatEntry(f));
        return iss;
    });

    /// <summary>
    /// Runs a script and collects every stream. A terminating error of a cmdlet (ThrowTerminatingError) ends the
    /// script and lands in <see cref="PsResult.Terminating"/>; non-terminating errors stay in <see cref="PsResult.Errors"/>.
    /// </summary>
    public static PsResult Run(string script, IDictionary<string, object?>? variables = null)
    {
        script = "trap { break }\n" + script;
        using var rs = RunspaceFactory.CreateRunspace(State.Value);
        rs.Open();
        if (variables is not null)
            foreach (var (k, v) in variables) rs.SessionStateProxy.SetVariable(k, v);
        using var ps = System.Management.Automation.PowerShell.Create(rs);
        ps.AddScript(script);
        var result = new PsResult();
        try
        {
            Collection<PSObject> output = ps.Invoke();
            result.Output.AddRange(output.Where(o => o is not null));
        }
        catch (RuntimeException e)
        {
            result.Terminating = e.ErrorRecord;
        }
        Collect(ps, result);
        return result;
    }

    /// <summary>Starts a script, lets it run for <paramref name="after"/>, then stops it as Ctrl+C does.</summary>
    public static PsResult RunAndStop(string script, TimeSpan after)
    {
        script = "trap { break }\n" + script;
        using var rs = RunspaceFactory.CreateRunspace(State.Value);
        rs.Open();
        using var ps = System.Management.Automation.PowerShell.Create(rs);
        ps.AddScript(script);
        var output = new PSDataCollection<PSObject>();
        var result = new PsResult();
        var handle = ps.BeginInvoke<PSObject, PSObject>(null, output);
        handle.AsyncWaitHandle.WaitOne(after);
        ps.Stop();
        try { ps.EndInvoke(handle); }
        catch (PipelineStoppedException) { }
        catch (RuntimeException e) { result.Terminating = e.ErrorRecord; }
        result.Output.AddRange(output.Where(o => o is not null));
        Collect(ps, result);
        return result;
    }

    private static void Collect(System.Management.Automation.PowerShell ps, PsResult result)
    {
        result.Errors.AddRange(ps.Streams.Error);
        result.Warnings.AddRange(ps.Streams.Warning.Select(w => w.Message));
        result.Verbose.AddRange(ps.Streams.Verbose.Select(w => w.Message));
        result.Progress.AddRange(ps.Streams.Progress);
    }
}
