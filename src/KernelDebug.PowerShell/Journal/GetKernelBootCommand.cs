using System.Management.Automation;
using KernelDebug.Core.Journal;
using KernelDebug.Core.Parsing;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Journal;

/// <summary>
/// <para type="synopsis">Lists the boots in the systemd journal and how each one ended: a clean shutdown or reboot, a panic, a crash report, or a log that just stops (watchdog, power loss), with the crash logs kept for it.</para>
/// <para type="description">Get-KernelBoot answers the first question after an unexplained reboot: did the last boot crash, and what did it say? It reads the systemd journal through libsystemd (the running system's /var/log/journal and /run/log/journal, the journal under -Root, or journal files and directories given with -Path, e.g. a journal/ folder copied from another machine) and returns one KernelBoot per boot, oldest first: Index (the offset journalctl -b and -Boot take: 0 is the last boot, -1 the one before), BootId, FirstEntry and LastEntry, KernelRelease (from the boot's own "Linux version" message), MessageCount (kernel messages), and End.</para>
/// <para type="description">End is Running for the boot running now; Panic when the kernel logged "Kernel panic - not syncing"; Reboot or Shutdown when the kernel's last words (reboot: Restarting system, reboot: Power down) or systemd's (Reached target System Reboot / System Power Off, Journal stopped) show a clean end after the last crash report; CrashReport when an oops, BUG, lockup or hung task is among the boot's last minutes and nothing clean follows; and LogStopped when the log just stops: a hardware watchdog, a power loss, a hard hang, or a crash whose words never reached the disk. EndMessage is the line that shows it. CrashReports holds the boot's crash reports (CrashTitle the last one's title), and Archives the crash logs kept for the boot by pstore, systemd-pstore (/var/lib/systemd/pstore) or kdump (/var/crash) under -Root; they are attached by time: kdump writes right after the crash, systemd-pstore early in the next boot.</para>
/// </summary>
/// <example>
///   <code>Get-KernelBoot | Select-Object -Last 5 | Format-Table Index, FirstEntry, LastEntry, KernelRelease, End, CrashTitle</code>
///   <para>The last five boots and how each ended: the row before the running boot says whether the last reboot was a crash.</para>
/// </example>
/// <example>
///   <code>Get-KernelBoot -Path ./web1/journal | Where-Object End -in Panic, CrashReport, LogStopped | Select-Object BootId, LastEntry, End, EndMessage</code>
///   <para>The boots of a journal copied from another machine that did not end cleanly.</para>
/// </example>
/// <example>
///   <code>Get-KernelBoot -Boot -1 | Select-Object -ExpandProperty CrashReports | Format-List Title, GuiltyFrame, Frames</code>
///   <para>The crash reports of the previous boot in full.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "KernelBoot")]
[OutputType(typeof(KernelBoot))]
public sealed class GetKernelBootCommand : KernelReaderCmdlet
{
    /// <summary>
    /// <para type="description">Journal files (*.journal) or journal directories to read instead of the system's journal. Wildcards are allowed.</para>
    /// </summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Path { get; set; }

    /// <summary>
    /// <para type="description">Only this boot: 0 the last boot, -1 the one before, or a boot id.</para>
    /// </summary>
    [Parameter]
    [ArgumentCompleter(typeof(BootCompleter))]
    [ValidateNotNullOrEmpty]
    public string? Boot { get; set; }

    /// <inheritdoc />
    protected override void End()
    {
        var paths = new List<string>();
        foreach (var p in Path ?? [])
        {
            try { paths.AddRange(SessionState.Path.GetResolvedProviderPathFromPSPath(p, out _)); }
            catch (ItemNotFoundException e) { WriteError(new ErrorRecord(e, "JournalNotFound", ErrorCategory.ObjectNotFound, p)); }
        }
        if (Path is not null && paths.Count == 0) return;
        var location = new JournalLocation { Paths = paths, Root = KernelRoot };
        var ctx = new ParseContext(location.Describe());
        // Archives and the running boot belong to the machine of -Root: a journal from elsewhere gets them only with -Root.
        bool sameMachine = Path is null || MyInvocation.BoundParameters.ContainsKey(nameof(Root));
        var archives = sameMachine ? CrashArchives.Find(KernelRoot, ctx) : [];
        string? current = sameMachine && Path is null ? BootHistory.CurrentBootId(KernelRoot) : null;
        using var reader = JournalReader.Open(location.Files(), ctx);
        WriteIssues(ctx);
        string? only = Boot is null ? null : JournalKernelLog.ResolveBoot(reader.Boots(), Boot, location.Describe()).BootId;
        foreach (var b in BootHistory.Read(reader, location.Describe(), current, archives, ctx, StopToken, only))
        {
            WriteIssues(ctx);
            WriteObject(b);
        }
        WriteIssues(ctx);
    }
}
