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
    /// <summary>The reports of a log file: only the regions around report headers are parsed into messages.</summary>
    public static IEnumerable<KernelOops> ReadFile(string path, ParseContext ctx, CancellationToken ct) => KernelOopsParser.ParseFile(path, ctx, ct);

    /// <summary>Messages of the running kernel.</summary>
    public static IEnumerable<KernelMessage> ReadLive(KernelRoot root, ParseContext ctx) =>
        KernelLog.ReadDevice(root, ctx, follow: false, CancellationToken.None);
}
