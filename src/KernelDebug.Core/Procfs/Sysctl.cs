namespace KernelDebug.Core.Procfs;

/// <summary>One kernel tunable under <c>/proc/sys</c>.</summary>
/// <param name="Name">Dotted name, as <c>sysctl</c> prints it: <c>kernel.hung_task_timeout_secs</c>.</param>
/// <param name="Value">The value as the kernel prints it, trimmed (tabs separate multi-value entries).</param>
/// <param name="Writable">Whether the file's mode lets its owner (root) write it.</param>
public sealed record SysctlEntry(string Name, string Value, bool Writable);

/// <summary>Reads <c>/proc/sys</c> from a <see cref="KernelRoot"/>: read-only, names in dotted form.</summary>
public static class SysctlReader
{
    private const string Top = "proc/sys";

    /// <summary>"net/ipv4/ip_forward" → "net.ipv4.ip_forward" (dots inside a component, as in interface names, become '/', as sysctl does).</summary>
    public static string ToDotted(string relative) => string.Join('.', relative.Split('/').Select(p => p.Replace('.', '/')));

    /// <summary>"net.ipv4.ip_forward" → "net/ipv4/ip_forward".</summary>
    public static string FromDotted(string name) => string.Join('/', name.Split('.').Select(p => p.Replace('/', '.')));

    /// <summary>
    /// Every readable entry whose dotted name <paramref name="match"/> accepts (all when null), sorted by name.
    /// Entries that cannot be read (write-only, EPERM, EINVAL) are skipped; their names go to <paramref name="skipped"/>.
    /// </summary>
    public static IReadOnlyList<SysctlEntry> Read(KernelRoot root, Func<string, bool>? match, Action<string, string>? skipped = null)
    {
        string top = root.Resolve(Top);
        if (!Directory.Exists(top))
            throw Errors.KernelErrors.FileNotFound(top, "procfs with CONFIG_PROC_SYSCTL=y");
        var result = new List<SysctlEntry>();
        var opts = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint };
        foreach (string path in Directory.EnumerateFiles(top, "*", opts))
        {
            string rel = Path.GetRelativePath(top, path);
            // An automount point: entering it would mount binfmt_misc, a change this read-only reader must not make.
            if (rel.StartsWith("fs/binfmt_misc/", StringComparison.Ordinal)) continue;
            string name = ToDotted(rel);
            if (match is not null && !match(name)) continue;
            UnixFileMode mode;
            try { mode = File.GetUnixFileMode(path); }
            catch (IOException) { continue; }
            if ((mode & (UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead)) == 0) { skipped?.Invoke(name, "write-only"); continue; }
            // Sysctls are small; a few (kernel.random.uuid) change on every read, so each is read once.
            string? value = root.TryReadValue(Top + "/" + rel);
            if (value is null) { skipped?.Invoke(name, "unreadable"); continue; }
            result.Add(new SysctlEntry(name, value, (mode & UnixFileMode.UserWrite) != 0));
        }
        result.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return result;
    }

    /// <summary>One entry by dotted name, or null when it does not exist or cannot be read.</summary>
    public static SysctlEntry? TryGet(KernelRoot root, string name)
    {
        string path = root.Resolve(Top + "/" + FromDotted(name));
        if (!File.Exists(path)) return null;
        string? value = root.TryReadValue(Top + "/" + FromDotted(name));
        if (value is null) return null;
        try { return new SysctlEntry(name, value, (File.GetUnixFileMode(path) & UnixFileMode.UserWrite) != 0); }
        catch (IOException) { return null; }
    }
}
