using KernelDebug.Core;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Kmsg;
using KernelDebug.Core.Oops;
using KernelDebug.Core.Parsing;

namespace KernelDebug.PowerShell.Oops;

/// <summary>
/// Where Get-KernelOops gets its messages: the kernel-log readers (per-file format detection, /dev/kmsg or a
/// snapshot's dev/kmsg), the same ones Get-KernelMessage uses.
/// </summary>
internal static class OopsMessageSources
{
    /// <summary>Messages of a log file.</summary>
    public static IEnumerable<KernelMessage> ReadFile(string path, ParseContext ctx) => KernelLog.ReadFile(path, ctx);

    /// <summary>Messages of the running kernel.</summary>
    public static IEnumerable<KernelMessage> ReadLive(KernelRoot root, ParseContext ctx) =>
        KernelLog.ReadDevice(root, ctx, follow: false, CancellationToken.None);
}
