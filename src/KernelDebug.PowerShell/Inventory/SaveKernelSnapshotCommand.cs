using System.Management.Automation;
using KernelDebug.Core.Inventory;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Inventory;

/// <summary>
/// <para type="synopsis">Saves the kernel files KernelDebug reads (proc, sys, config, kernel log, blocked tasks) into a directory or .tar.gz that -Root reads later on any machine.</para>
/// <para type="description">Save-KernelSnapshot copies every file that KernelDebug's readers use into a tree laid out like the machine's own (proc/, sys/, boot/, dev/kmsg), so that any cmdlet run with -Root on that tree, here or on another machine, gives the captured machine's answers. It copies the files of one catalog: /proc (meminfo, stat, loadavg, uptime, version, cmdline, vmstat, buddyinfo, zoneinfo, slabinfo, pressure, lockdep, mounts, modules, config.gz, interrupts, softirqs, swaps and the whole /proc/sys tree), /sys (slab cache attributes, transparent huge pages, lockdown, kexec, CPU and NUMA node lists and per-node meminfo, EDAC, pstore), the tracefs tracer and event lists, /boot/config-&lt;release&gt;, the kernel log read from /dev/kmsg without waiting (saved as the file dev/kmsg, one raw record per line), and status, stat, wchan and stack of every task in uninterruptible (D) sleep. Kernel files report a size of 0, so each is read, never copied by size. Files that are too large (BTF, kallsyms) are listed as omitted and files that cannot be read are listed with the reason in kerneldebug-snapshot.json, which also records host, release, time and page size; nothing is thrown for them. A -Path ending in .tar.gz or .tgz writes a compressed archive instead of a directory. It returns the manifest.</para>
/// </summary>
/// <example>
///   <code>Save-KernelSnapshot -Path ./web1-snapshot; Get-KernelInfo -Root ./web1-snapshot</code>
///   <para>Captures this machine and reads the capture back.</para>
/// </example>
/// <example>
///   <code>Save-KernelSnapshot -Path "/tmp/$(hostname)-$(Get-Date -Format yyyyMMdd-HHmm).tar.gz" | Select-Object FileCount, TotalBytes, Failed</code>
///   <para>Writes a compressed snapshot to attach to a bug report, and shows what could not be copied.</para>
/// </example>
[Cmdlet(VerbsData.Save, "KernelSnapshot", SupportsShouldProcess = true)]
[OutputType(typeof(SnapshotManifest))]
public sealed class SaveKernelSnapshotCommand : KernelReaderCmdlet
{
    /// <summary>
    /// <para type="description">The directory to write (created when missing), or a file name ending in .tar.gz or .tgz for a compressed archive.</para>
    /// </summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <inheritdoc />
    protected override void Process()
    {
        string dest = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
        bool archive = SnapshotWriter.IsArchivePath(dest);
        if (!ShouldProcess(dest, archive ? "Write kernel snapshot archive" : "Write kernel snapshot directory")) return;
        var root = KernelRoot;
        Pump((writer, token) =>
        {
            var progress = new ProgressRecord(2, "Saving kernel snapshot", "starting");
            void Report(string step, int percent)
            {
                progress.StatusDescription = step;
                progress.PercentComplete = Math.Clamp(percent, 0, 100);
                writer.TryWrite(progress);
            }
            var manifest = archive ? SnapshotWriter.WriteArchive(root, dest, Report, token) : SnapshotWriter.Write(root, dest, Report, token);
            foreach (var f in manifest.Failed) writer.TryWrite(new VerboseMessage($"not copied: {f.Path}: {f.Reason}"));
            writer.TryWrite(new ProgressRecord(2, "Saving kernel snapshot", "done") { RecordType = ProgressRecordType.Completed });
            return writer.WriteAsync(manifest with { Path = dest }, token).AsTask();
        });
    }
}
