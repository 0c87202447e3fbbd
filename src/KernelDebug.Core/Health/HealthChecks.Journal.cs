using KernelDebug.Core.Errors;
using KernelDebug.Core.Journal;

namespace KernelDebug.Core.Health;

// The previous boot, from the systemd journal: did the last reboot follow a crash?
public static partial class HealthChecks
{
    internal static readonly HealthCheck PreviousBoot = new("KD1104", HealthArea.Crash, "How the previous boot ended",
        "Reads the systemd journal (Get-KernelBoot) for the boot before this one: a panic is critical, a crash report near its end an error, " +
        "a log that just stops (watchdog, power loss, a crash that never reached the disk) a warning; crash logs kept by pstore or kdump for it are shown.",
        false, ctx =>
        {
            var issues = ctx.Issues;
            IReadOnlyList<string> files;
            try { files = JournalReader.FindFiles(ctx.Root); }
            catch (KernelDebugException e) { return [ctx.Finding(HealthSeverity.Info, $"The journal cannot be read: {e.Message}", e.Remedy)]; }
            if (files.Count == 0 || !JournalReader.IsAvailable)
                return [ctx.Finding(HealthSeverity.Info, "No systemd journal to read: how the previous boot ended is unknown.",
                    "Keep a persistent journal (mkdir -p /var/log/journal; systemctl restart systemd-journald) so the next crash leaves its words.")];
            using var reader = JournalReader.Open(files, issues);
            var boots = reader.Boots();
            string? current = BootHistory.CurrentBootId(ctx.Root);
            // The boot before the running one; in a journal without the running boot (a snapshot), the last one is it.
            int last = boots.Count - 1;
            int prev = current is not null && last >= 0 && boots[last].BootId == current ? last - 1 : last;
            if (prev < 0) return [ctx.Finding(HealthSeverity.Ok, "The journal holds no boot before this one.", value: 0)];
            var archives = CrashArchives.Find(ctx.Root, issues);
            var boot = BootHistory.Read(reader, "journal", current, archives, issues, ctx.Cancel, boots[prev].BootId).Single();
            string when = $"{boot.FirstEntry.LocalDateTime:yyyy-MM-dd HH:mm} .. {boot.LastEntry.LocalDateTime:yyyy-MM-dd HH:mm}";
            string kept = boot.Archives.Count == 0 ? "" : $" Crash logs kept: {boot.ArchivePaths}.";
            var evidence = new object[] { boot };
            return boot.End switch
            {
                BootEnd.Panic => [ctx.Finding(HealthSeverity.Critical, $"The previous boot ({when}) ended in a kernel panic: {boot.CrashTitle ?? boot.EndMessage}.{kept}",
                    "Read it: Get-KernelOops -Boot -1 | Format-List Title, GuiltyFrame, Frames; enable kdump (KD1101) for a full dump next time.", 1, evidence)],
                BootEnd.CrashReport => [ctx.Finding(HealthSeverity.Error, $"The previous boot ({when}) ended soon after a crash report: {boot.EndMessage}.{kept}",
                    "Read it: Get-KernelOops -Boot -1; the machine may have hung after it (set kernel.panic_on_oops=1 and kernel.panic=10 to reboot instead).", 1, evidence)],
                BootEnd.LogStopped => [ctx.Finding(HealthSeverity.Warning, $"The previous boot's log just stops at {boot.LastEntry.LocalDateTime:yyyy-MM-dd HH:mm:ss} with no shutdown: a watchdog reset, a power loss, or a crash that never reached the disk.{kept}",
                    "Check pstore and kdump (Get-KernelOops -Archived), the BMC/IPMI event log, and send the console to another machine with netconsole (Receive-NetConsole).", 1, evidence)],
                _ => [ctx.Finding(HealthSeverity.Ok, $"The previous boot ({when}) ended cleanly ({boot.End}).{kept}", value: 0, evidence: evidence)],
            };
        });
}
