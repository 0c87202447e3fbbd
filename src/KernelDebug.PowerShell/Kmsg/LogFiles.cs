using System.Management.Automation;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Kmsg;
using KernelDebug.Core.Parsing;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Kmsg;

/// <summary>
/// -Path / -LiteralPath handling shared by the log cmdlets: wildcards, directories (their files), FileInfo input,
/// and each pstore dump read once even when several of its parts are named.
/// </summary>
internal sealed class LogFiles
{
    private readonly HashSet<string> _done = new(StringComparer.Ordinal);

    /// <summary>Resolves the paths to files; unresolvable ones become non-terminating errors.</summary>
    public List<string> Resolve(PSCmdlet cmdlet, string[] paths, bool literal)
    {
        var files = new List<string>();
        foreach (var p in paths)
        {
            List<string> resolved;
            try
            {
                resolved = literal
                    ? [cmdlet.SessionState.Path.GetUnresolvedProviderPathFromPSPath(p)]
                    : cmdlet.SessionState.Path.GetResolvedProviderPathFromPSPath(p, out _).ToList();
            }
            catch (ItemNotFoundException e)
            {
                cmdlet.WriteError(new ErrorRecord(e, "KernelLogNotFound", ErrorCategory.ObjectNotFound, p));
                continue;
            }
            foreach (var r in resolved)
            {
                if (Directory.Exists(r))
                {
                    try { files.AddRange(Directory.EnumerateFiles(r).Order(StringComparer.Ordinal)); }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        cmdlet.WriteError(new ErrorRecord(e, "KernelLogDirectoryUnreadable", ErrorCategory.ReadError, r));
                    }
                }
                else if (File.Exists(r)) files.Add(r);
                else cmdlet.WriteError(new ErrorRecord(new FileNotFoundException($"The log file '{r}' does not exist.", r),
                    "KernelLogNotFound", ErrorCategory.ObjectNotFound, r));
            }
        }
        return files;
    }

    /// <summary>The logs among <paramref name="files"/> not read yet (a pstore dump's parts are one log).</summary>
    public IEnumerable<IReadOnlyList<string>> Groups(IEnumerable<string> files)
    {
        foreach (var g in KernelLog.GroupFiles(files.Where(f => !_done.Contains(f))))
        {
            if (g.Any(_done.Contains)) continue;
            foreach (var f in g) _done.Add(f);
            yield return g;
        }
    }

    /// <summary>
    /// Reads each log, handing every message to <paramref name="onMessage"/> and writing parse warnings as they come;
    /// a file that cannot be opened is a non-terminating error and the next one is read.
    /// </summary>
    public static void Read(KernelCmdlet cmdlet, IReadOnlyList<string> group, Action<KernelMessage> onMessage, Action<ParseContext> writeIssues)
    {
        var ctx = new ParseContext(group[0]);
        try
        {
            foreach (var m in KernelLog.ReadGroup(group, ctx))
            {
                onMessage(m);
                if (ctx.Issues.Count > 0) writeIssues(ctx);
            }
        }
        catch (KernelDebugException e)
        {
            cmdlet.WriteError(ErrorRecords.From(e));
        }
        writeIssues(ctx);
    }
}
