using KernelDebug.Core.Errors;
using KernelDebug.Core.Kmsg;
using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Journal;

/// <summary>Where a journal is read from: files, a directory, or the journal under a system root.</summary>
public sealed record JournalLocation
{
    /// <summary>Journal files or directories; empty means the journal of <see cref="Root"/>.</summary>
    public IReadOnlyList<string> Paths { get; init; } = [];
    /// <summary>The system root whose var/log/journal and run/log/journal are read when <see cref="Paths"/> is empty.</summary>
    public KernelRoot Root { get; init; } = KernelRoot.Live;

    /// <summary>The journal files it names.</summary>
    public IReadOnlyList<string> Files()
    {
        if (Paths.Count == 0) return JournalReader.FindFiles(Root);
        var files = new List<string>();
        foreach (var p in Paths)
        {
            if (Directory.Exists(p)) files.AddRange(JournalReader.FindFiles(p));
            else files.Add(p);
        }
        return files;
    }

    /// <summary>What to call it in messages.</summary>
    public string Describe() => Paths.Count > 0 ? string.Join(", ", Paths) : Root.IsLive ? "the system journal" : $"the journal under {Root.Path}";
}

/// <summary>The kernel's messages in the systemd journal, and boot selection the way <c>journalctl -b</c> does it.</summary>
public static class JournalKernelLog
{
    /// <summary>
    /// The boot a <c>-Boot</c> value names: 0 the last boot in the journal, -1 the one before, 1 the first, or a boot
    /// id (32 hex digits, dashes allowed). Throws <c>BootNotFound</c> naming the boots that exist.
    /// </summary>
    public static JournalBootSpan ResolveBoot(IReadOnlyList<JournalBootSpan> boots, string spec, string where)
    {
        string s = spec.Trim();
        if (int.TryParse(s, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out int offset))
        {
            int index = offset <= 0 ? boots.Count - 1 + offset : offset - 1;
            if (index >= 0 && index < boots.Count) return boots[index];
        }
        else
        {
            string id = s.Replace("-", "", StringComparison.Ordinal).ToLowerInvariant();
            if (boots.FirstOrDefault(b => b.BootId == id) is { } b) return b;
        }
        throw new KernelDebugException("BootNotFound", KernelErrorCategory.ObjectNotFound,
            $"No boot '{spec}' in {where}: it holds {boots.Count} boot(s) (offsets {(boots.Count == 0 ? "none" : $"{1 - boots.Count}..0")}).",
            "List them with Get-KernelBoot; -Boot takes 0 (the last boot), -1 (the one before), or a boot id.", spec);
    }

    /// <summary>A kernel journal entry as a KernelMessage: the kernel's own timestamp as Uptime, journald's wall clock as Time.</summary>
    public static KernelMessage ToKernelMessage(JournalEntry e, int ordinal) => new()
    {
        Uptime = e.SourceMonotonic ?? e.Monotonic,
        Time = e.Time,
        Level = e.Priority is >= 0 and <= 7 ? (KernelLogLevel)e.Priority.Value : null,
        Facility = e.Facility is >= 0 and < 32 ? (KernelLogFacility)e.Facility.Value : null,
        Text = e.Message,
        Subsystem = e.KernelSubsystem,
        Device = e.KernelDevice,
        Source = e.File,
        LineNumber = ordinal,
        BootId = e.BootId,
        Sender = e.HostName,
    };

    /// <summary>
    /// The kernel's messages (<c>_TRANSPORT=kernel</c>) of one boot (or of all boots when <paramref name="boot"/> is null),
    /// in time order. Damaged files and entries become warnings in <paramref name="ctx"/>.
    /// </summary>
    public static IEnumerable<KernelMessage> Read(JournalLocation location, string? boot, ParseContext ctx, CancellationToken ct = default)
    {
        using var reader = JournalReader.Open(location.Files(), ctx);
        string? id = boot is null ? null : ResolveBoot(reader.Boots(), boot, location.Describe()).BootId;
        int n = 0;
        foreach (var e in reader.Entries(id, kernelOnly: true, ct))
            yield return ToKernelMessage(e, ++n);
    }
}
