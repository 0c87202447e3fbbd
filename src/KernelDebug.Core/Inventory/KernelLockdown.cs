namespace KernelDebug.Core.Inventory;

/// <summary>
/// The kernel lockdown mode. securityfs says it directly, but is often not mounted; then the command line
/// (<c>lockdown=</c>) and the build configuration (<c>CONFIG_LOCK_DOWN_KERNEL_FORCE_*</c>) tell.
/// </summary>
public static class KernelLockdown
{
    /// <summary>The mode ("none", "integrity", "confidentiality") and where it was read, or nulls when nothing tells.</summary>
    /// <param name="root">The kernel root.</param>
    /// <param name="config">Gets the build configuration, called only when securityfs and the command line do not tell.</param>
    public static (string? Mode, string? Source) Read(KernelRoot root, Func<KernelConfig?> config)
    {
        if (root.TryReadValue("sys/kernel/security/lockdown") is { } text)
        {
            int a = text.IndexOf('['), b = text.IndexOf(']');
            return (a >= 0 && b > a ? text[(a + 1)..b] : text, "/sys/kernel/security/lockdown");
        }
        if (root.TryReadValue("proc/cmdline") is { } cmd)
            foreach (var p in KernelCommandLineParser.Parse(cmd))
                if (p.Name == "lockdown" && p.Value is { Length: > 0 } v) return (v, "the kernel command line");
        if (config() is { } c)
        {
            if (c.IsEnabled("LOCK_DOWN_KERNEL_FORCE_CONFIDENTIALITY")) return ("confidentiality", "CONFIG_LOCK_DOWN_KERNEL_FORCE_CONFIDENTIALITY=y");
            if (c.IsEnabled("LOCK_DOWN_KERNEL_FORCE_INTEGRITY")) return ("integrity", "CONFIG_LOCK_DOWN_KERNEL_FORCE_INTEGRITY=y");
            if (c["SECURITY_LOCKDOWN_LSM"] is not null) return ("none", c.Describe("LOCK_DOWN_KERNEL_FORCE_NONE"));
        }
        return (null, null);
    }
}
