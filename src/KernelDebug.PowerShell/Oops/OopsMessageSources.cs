using KernelDebug.Core;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Kmsg;
using KernelDebug.Core.Oops;
using KernelDebug.Core.Parsing;

namespace KernelDebug.PowerShell.Oops;

/// <summary>
/// Where Get-KernelOops gets its messages. Kept apart so that the kernel-log readers (format detection,
/// /dev/kmsg) replace these two bodies and nothing else.
/// </summary>
internal static class OopsMessageSources
{
    /// <summary>Messages of a log file.</summary>
    public static IEnumerable<KernelMessage> ReadFile(string path, ParseContext ctx) =>
        ConsoleText.Read(File.OpenText(path), path);   // at merge: KernelLog.ReadFile(path, ctx)

    /// <summary>Messages of the running kernel.</summary>
    public static IEnumerable<KernelMessage> ReadLive(KernelRoot root, ParseContext ctx) =>
        throw KernelErrors.FeatureMissing("KernelLogReaderUnavailable", "a live kernel log reader in this build",
            "Pipe messages in (Get-KernelMessage | Get-KernelOops) or read a saved log with -Path, e.g. Get-KernelOops -Path /var/log/kern.log.",
            root.Resolve("dev/kmsg"));   // at merge: the /dev/kmsg reader
}
