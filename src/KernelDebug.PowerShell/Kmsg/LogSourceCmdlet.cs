using System.Management.Automation;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Journal;
using KernelDebug.Core.Kmsg;
using KernelDebug.Core.Parsing;
using KernelDebug.PowerShell.Infrastructure;
using KernelDebug.PowerShell.Journal;

namespace KernelDebug.PowerShell.Kmsg;

/// <summary>
/// Base of the cmdlets that read the kernel log (Get-KernelMessage, Get-KernelOops, Get-KernelOomEvent,
/// Get-MachineCheck): one parameter set for where the log comes from, and the same answers for every input.
/// Live (no -Path) is /dev/kmsg, or the journal under -Root with -Boot; -Path (wildcards) and -LiteralPath (FileInfo
/// from the pipeline) take text logs, journal files and directories. A missing file is the error KernelLogNotFound,
/// an unreadable one KernelFileAccessDenied, a directory means its files (the journal files in it, when it is a
/// journal directory), a binary file is a warning naming it, and -Boot on a text log is the error BootNeedsJournal.
/// </summary>
public abstract class LogSourceCmdlet : KernelReaderCmdlet
{
    /// <summary>Parameter set of the running kernel's log (or the journal with -Boot).</summary>
    protected const string LiveSet = "Live";
    /// <summary>Parameter set of -Path.</summary>
    protected const string PathSet = "Path";
    /// <summary>Parameter set of -LiteralPath.</summary>
    protected const string LiteralSet = "LiteralPath";

    private readonly HashSet<string> _done = new(StringComparer.Ordinal);

    /// <summary>
    /// <para type="description">Log files or directories to read instead of the live kernel log (wildcards allowed): text logs in any format Get-KernelMessage detects (.gz decompressed), systemd journal files (*.journal) and journal directories (/var/log/journal, /run/log/journal, a copied journal/ folder). A directory means every file in it.</para>
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = [];

    /// <summary>
    /// <para type="description">Log files or directories, taken literally (no wildcards). FileInfo objects from Get-ChildItem bind here.</para>
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = LiteralSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = [];

    /// <summary>
    /// <para type="description">Reads one boot from the systemd journal, as journalctl -k -b does: 0 is the last boot in the journal (the running one on a live system), -1 the one before, 1 the first; or a boot id from Get-KernelBoot. Without -Path the journal of -Root is read (/var/log/journal and /run/log/journal); with -Path, the journal files and directories given.</para>
    /// </summary>
    [Parameter(ParameterSetName = LiveSet)]
    [Parameter(ParameterSetName = PathSet)]
    [Parameter(ParameterSetName = LiteralSet)]
    [ArgumentCompleter(typeof(BootCompleter))]
    [ValidateNotNullOrEmpty]
    public string? Boot { get; set; }

    /// <summary>True when the input is a journal of -Root (live set with -Boot).</summary>
    protected bool ReadsRootJournal => ParameterSetName == LiveSet && Boot is not null;

    /// <summary>True when this record's paths are to be read (the path sets).</summary>
    protected bool ReadsPaths => ParameterSetName is PathSet or LiteralSet;

    /// <summary>The journal of -Root with -Boot.</summary>
    protected LogSource RootJournal() => LogSource.Journal(new JournalLocation { Root = KernelRoot }, Boot);

    /// <summary>
    /// The logs named by this pipeline record's -Path/-LiteralPath, each once per command even when named again.
    /// Problems with a path are written here (errors and warnings) and the rest is still returned.
    /// </summary>
    protected List<LogSource> ResolveSources()
    {
        var text = new List<string>();
        var journal = new List<string>();
        bool literal = ParameterSetName == LiteralSet;
        foreach (var p in literal ? LiteralPath : Path)
        {
            List<string> resolved;
            try
            {
                resolved = literal
                    ? [SessionState.Path.GetUnresolvedProviderPathFromPSPath(p)]
                    : SessionState.Path.GetResolvedProviderPathFromPSPath(p, out _).ToList();
            }
            catch (ItemNotFoundException)
            {
                WriteKernelError(NotFound(p));
                continue;
            }
            foreach (var r in resolved)
            {
                if (Directory.Exists(r)) AddDirectory(r, text, journal);
                else if (File.Exists(r)) AddFile(r, text, journal);
                else WriteKernelError(NotFound(r));
            }
        }
        var sources = new List<LogSource>();
        if (journal.Count > 0) sources.Add(LogSource.Journal(new JournalLocation { Paths = journal }, Boot));
        if (text.Count > 0)
        {
            if (Boot is not null) WriteKernelError(LogSource.BootNeedsJournal(text[0]));
            else
                foreach (var g in KernelLog.GroupFiles(text))
                {
                    bool fresh = true;
                    foreach (var f in g) fresh &= _done.Add(f);
                    if (!fresh) continue;
                    sources.Add(LogSource.Text(g));
                }
        }
        return sources;
    }

    private void AddDirectory(string dir, List<string> text, List<string> journal)
    {
        IReadOnlyList<string> journalFiles;
        string[] files;
        try
        {
            journalFiles = JournalReader.FindFiles(dir);
            files = Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal).ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or KernelDebugException)
        {
            WriteKernelError(e as KernelDebugException ?? KernelErrors.AccessDenied(dir, "Run as root or as a user allowed to read the directory.", e));
            return;
        }
        if (journalFiles.Count > 0)
        {
            foreach (var f in journalFiles)
                if (_done.Add(f)) journal.Add(f);
            return;
        }
        if (files.Length == 0)
        {
            WriteKernelError(new KernelDebugException("KernelLogDirectoryEmpty", KernelErrorCategory.ObjectNotFound,
                $"The directory '{dir}' holds no files to read.", "Give the log files themselves, or a directory that holds them.", dir));
            return;
        }
        foreach (var f in files) AddFile(f, text, journal);
    }

    private void AddFile(string file, List<string> text, List<string> journal)
    {
        if (_done.Contains(file)) return;
        switch (LogSource.Classify(file))
        {
            case LogFileKind.Journal:
                _done.Add(file);
                journal.Add(file);
                break;
            case LogFileKind.Binary:
                _done.Add(file);
                WriteWarning(LogSource.BinaryWarning(file));
                break;
            default:
                text.Add(file);
                break;
        }
    }

    private static KernelDebugException NotFound(string path) =>
        new("KernelLogNotFound", KernelErrorCategory.ObjectNotFound, $"The log file '{path}' does not exist.",
            "Check the path; Get-ChildItem lists what is there (rotated logs: kern.log.1, kern.log.2.gz).", path);

    /// <summary>
    /// Reads one source on the pipeline thread: every message to <paramref name="onMessage"/>, warnings as they come
    /// (<paramref name="beforeWarnings"/> runs first, to flush batched output); a source that cannot be read is a non-terminating error.
    /// </summary>
    protected void ReadSource(LogSource source, Action<KernelMessage> onMessage, Action? beforeWarnings = null)
    {
        var ctx = new ParseContext(source.Name);
        try
        {
            foreach (var m in source.Read(ctx, StopToken))
            {
                onMessage(m);
                if (ctx.Issues.Count > 0) { beforeWarnings?.Invoke(); WriteIssues(ctx); }
            }
        }
        catch (KernelDebugException e) when (e.ErrorId != "BootNotFound" && e.ErrorId != "LibsystemdNotFound")
        {
            beforeWarnings?.Invoke();
            WriteKernelError(e);
        }
        beforeWarnings?.Invoke();
        WriteIssues(ctx);
    }
}
