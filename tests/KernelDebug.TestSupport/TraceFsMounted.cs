using KernelDebug.Core;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Tracing;

namespace KernelDebug.TestSupport;

/// <summary>
/// Assembly fixture: on a fresh boot tracefs is not mounted, and the module mounts it on first use. Tests run in
/// parallel, so one test's first use would change what another test is comparing against; mounting it once before
/// any test runs gives them all the same machine.
/// </summary>
public sealed class TraceFsMounted
{
    /// <summary>Mounts tracefs the way the module does (no-op when it is mounted or cannot be).</summary>
    public TraceFsMounted()
    {
        try { TraceFs.Locate(KernelRoot.Live); }
        catch (KernelDebugException) { }
    }
}
