using System.Management.Automation;
using KernelDebug.Core;

namespace KernelDebug.PowerShell.Infrastructure;

/// <summary>Base of cmdlets that read kernel files: adds <c>-Root</c>, the live system or a snapshot directory.</summary>
public abstract class KernelReaderCmdlet : KernelCmdlet
{
    private KernelRoot? _root;

    /// <summary>
    /// <para type="description">The root of the kernel tree to read: "/" (the default) for the running system, a directory or .tar.gz archive written by Save-KernelSnapshot, or any tree holding proc/ and sys/. An empty or foreign directory (neither proc/ nor sys/) is an error (KernelRootNotAKernelTree).</para>
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Root { get; set; } = "/";

    /// <summary>The resolved root (relative paths are taken from the current PowerShell location).</summary>
    protected KernelRoot KernelRoot => _root ??= Root == "/"
        ? KernelRoot.Live
        : KernelRoot.Open(SessionState.Path.GetUnresolvedProviderPathFromPSPath(Root));
}
