using KernelDebug.Core.Errors;

namespace KernelDebug.Core.Health;

/// <summary>Runs the selected checks; a check that fails to read becomes an Info finding, never a crash of the whole run.</summary>
public static class HealthCheckRunner
{
    /// <summary>Runs <paramref name="checks"/> in order, yielding findings as each check finishes.</summary>
    public static IEnumerable<KernelHealthFinding> Run(IEnumerable<HealthCheck> checks, HealthContext ctx)
    {
        foreach (var check in checks)
        {
            ctx.Cancel.ThrowIfCancellationRequested();
            if (check.NeedsLive && !ctx.Root.IsLive)
            {
                yield return ctx.Finding(check, HealthSeverity.Info, $"{check.Name}: not available offline (it samples the running system).");
                continue;
            }
            List<KernelHealthFinding> findings;
            ctx.Current = check;
            try
            {
                findings = check.Run(ctx).ToList();
            }
            catch (KernelDebugException e)
            {
                findings = [ctx.Finding(check, HealthSeverity.Info, $"{check.Name}: could not be checked: {e.Message}", e.Remedy)];
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or InvalidOperationException)
            {
                findings = [ctx.Finding(check, HealthSeverity.Info, $"{check.Name}: could not be checked: {e.Message}")];
            }
            foreach (var f in findings) yield return f;
        }
    }
}
