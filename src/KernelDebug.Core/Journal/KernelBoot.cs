using System.Text.RegularExpressions;
using KernelDebug.Core.Kmsg;
using KernelDebug.Core.Oops;
using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Journal;

/// <summary>How a boot ended, as its log shows it.</summary>
public enum BootEnd
{
    /// <summary>It is the boot running now.</summary>
    Running,
    /// <summary>Shut down or powered off cleanly: the kernel's or systemd's last words say so.</summary>
    Shutdown,
    /// <summary>Rebooted cleanly: the kernel's or systemd's last words say so.</summary>
    Reboot,
    /// <summary>The kernel panicked ("Kernel panic - not syncing").</summary>
    Panic,
    /// <summary>A crash report (oops, BUG, lockup, hung task...) is among the last messages and nothing after it says the machine went down cleanly.</summary>
    CrashReport,
    /// <summary>The log just stops with no last words: a hardware watchdog, a power loss, a hard hang, or a crash that never reached the disk.</summary>
    LogStopped,
}

/// <summary>One boot of a machine, from its journal: when, which kernel, how many kernel messages, and how it ended.</summary>
public sealed record KernelBoot
{
    /// <summary>The offset journalctl -b takes: 0 for the last boot in the journal, -1 for the one before, ...</summary>
    public required int Index { get; init; }
    /// <summary>The boot id (32 hex digits).</summary>
    public required string BootId { get; init; }
    /// <summary>Time of the boot's first journal entry.</summary>
    public required DateTimeOffset FirstEntry { get; init; }
    /// <summary>Time of the boot's last journal entry.</summary>
    public required DateTimeOffset LastEntry { get; init; }
    /// <summary>How long the log covers (last minus first entry).</summary>
    public TimeSpan Duration => LastEntry - FirstEntry;
    /// <summary>The kernel release from the boot's own "Linux version ..." message, or null when it is not in the journal.</summary>
    public string? KernelRelease { get; init; }
    /// <summary>How many kernel messages (<c>_TRANSPORT=kernel</c>) the boot has in the journal.</summary>
    public int MessageCount { get; init; }
    /// <summary>How the boot ended.</summary>
    public required BootEnd End { get; init; }
    /// <summary>The message that shows how it ended (the panic line, the last words of a shutdown), or the last entry when the log just stops.</summary>
    public string? EndMessage { get; init; }
    /// <summary>The crash reports in the boot's kernel messages.</summary>
    public IReadOnlyList<KernelOops> CrashReports { get; init => field = Flat.List(value, "; ", r => r.Title); } = FlatList<KernelOops>.Empty;
    /// <summary>Title of the last crash report of the boot, or null (for tables and CSV).</summary>
    public string? CrashTitle => CrashReports.Count > 0 ? CrashReports[^1].Title : Archives.SelectMany(a => a.Reports).LastOrDefault()?.Title;
    /// <summary>Titles of all <see cref="CrashReports"/>, joined with "; " (for CSV).</summary>
    public string CrashTitles => string.Join("; ", CrashReports.Select(r => r.Title));
    /// <summary>Crash logs kept for this boot in pstore, by systemd-pstore or by kdump.</summary>
    public IReadOnlyList<CrashArchive> Archives { get; init => field = Flat.List(value, ";", a => a.Path); } = FlatList<CrashArchive>.Empty;
    /// <summary>The archives' paths, joined with ";" (for CSV).</summary>
    public string ArchivePaths => string.Join(";", Archives.Select(a => a.Path));
    /// <summary>The journal files or directories read.</summary>
    public string? Source { get; init; }
}

/// <summary>Tells how each boot in a journal ended, from its kernel messages and the last words of the kernel and systemd.</summary>
public static partial class BootHistory
{
    /// <summary>How many entries at the end of a boot are read for its last words.</summary>
    public const int TailEntries = 60;
    /// <summary>A crash report this close to the boot's last entry "ended" the boot.</summary>
    public static readonly TimeSpan CrashNearEnd = TimeSpan.FromMinutes(10);

    // Last words: the kernel's reboot/poweroff messages (kernel/reboot.c), systemd's shutdown targets and
    // systemd-shutdown, journald stopping.
    [GeneratedRegex(@"^reboot: (Restarting system|Power down|System halted)|^(kvm: exiting hardware virtualization)", RegexOptions.CultureInvariant)]
    private static partial Regex KernelLastWords();
    [GeneratedRegex(@"Reached target (\S+\.target - )?(System Reboot|Reboot|System Power Off|Power-Off|System Halt|Halt|System Shutdown|Shutdown|Final Step|System Kexec|kexec)|^System is (rebooting|powering down|halting)|^Shutting down\.?$|^Journal stopped|Syncing filesystems and block devices|Sending SIGTERM to remaining processes|Powering off|Rebooting", RegexOptions.CultureInvariant)]
    private static partial Regex SystemdLastWords();
    [GeneratedRegex(@"Restarting system|System Reboot|Reached target Reboot|System is rebooting|[Kk]exec|^Rebooting", RegexOptions.CultureInvariant)]
    private static partial Regex RebootWords();
    [GeneratedRegex(@"^Linux version (\S+)", RegexOptions.CultureInvariant)]
    private static partial Regex LinuxVersion();

    /// <summary>
    /// One record per boot of the journal, oldest first. <paramref name="currentBootId"/> is the boot running now (null
    /// for a journal of another machine); crash archives are attached to the boot they belong to.
    /// </summary>
    public static IEnumerable<KernelBoot> Read(JournalReader reader, string source, string? currentBootId, IReadOnlyList<CrashArchive> archives,
        ParseContext ctx, CancellationToken ct = default, string? onlyBootId = null)
    {
        var spans = reader.Boots();
        var byBoot = new Dictionary<string, List<CrashArchive>>(StringComparer.Ordinal);
        foreach (var a in archives)
            if (CrashArchives.BootOf(a, spans) is { } b)
                (byBoot.TryGetValue(b.BootId, out var l) ? l : byBoot[b.BootId] = new()).Add(a);
        for (int i = 0; i < spans.Count && !ct.IsCancellationRequested; i++)
        {
            var span = spans[i];
            if (onlyBootId is not null && span.BootId != onlyBootId) continue;
            int n = 0;
            string? release = null;
            var messages = new List<KernelMessage>();
            foreach (var e in reader.Entries(span.BootId, kernelOnly: true, ct))
            {
                var m = JournalKernelLog.ToKernelMessage(e, ++n);
                messages.Add(m);
                if (release is null && LinuxVersion().Match(m.Text) is { Success: true } v) release = v.Groups[1].Value;
            }
            var reports = KernelOopsParser.Parse(messages, ctx).ToArray();
            var tail = reader.Tail(span.BootId, TailEntries);
            var (end, why) = Judge(span, messages, reports, tail, currentBootId, i == spans.Count - 1);
            yield return new KernelBoot
            {
                Index = i - (spans.Count - 1),
                BootId = span.BootId,
                FirstEntry = span.First,
                LastEntry = span.Last,
                KernelRelease = release,
                MessageCount = n,
                End = end,
                EndMessage = why,
                CrashReports = reports,
                Archives = byBoot.TryGetValue(span.BootId, out var mine) ? mine : [],
                Source = source,
            };
        }
    }

    private static bool IsLastWords(JournalEntry e) =>
        e.Transport == "kernel" ? KernelLastWords().IsMatch(e.Message) : SystemdLastWords().IsMatch(e.Message);

    /// <summary>The boot id of the system under <paramref name="root"/> (proc/sys/kernel/random/boot_id, without dashes), or null.</summary>
    public static string? CurrentBootId(KernelRoot root)
    {
        try
        {
            string f = root.Resolve("proc/sys/kernel/random/boot_id");
            return File.Exists(f) ? File.ReadAllText(f).Trim().Replace("-", "", StringComparison.Ordinal) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>The end of one boot, and the message that shows it.</summary>
    public static (BootEnd End, string? Message) Judge(JournalBootSpan span, IReadOnlyList<KernelMessage> kernel, IReadOnlyList<KernelOops> reports,
        IReadOnlyList<JournalEntry> tail, string? currentBootId, bool isLast)
    {
        if (isLast && currentBootId is not null && span.BootId == currentBootId) return (BootEnd.Running, null);
        // A panic is the end whatever follows it in the log (the panic timeout's reboot leaves no words).
        if (kernel.LastOrDefault(m => m.Text.StartsWith("Kernel panic - not syncing", StringComparison.Ordinal)) is { } panic)
            return (BootEnd.Panic, panic.Text);
        if (reports.LastOrDefault(r => r.Panicked) is { } panicked) return (BootEnd.Panic, panicked.PanicMessage ?? panicked.Title);
        var lastCrash = reports.LastOrDefault(r => r.Kind != OopsKind.Warning);
        foreach (var e in tail.Reverse())
        {
            if (!IsLastWords(e)) continue;
            // Last words before the last crash report do not count: the machine came back and then crashed.
            if (lastCrash?.Time is { } ct && e.Time < ct) break;
            bool reboot = tail.Any(t => IsLastWords(t) && RebootWords().IsMatch(t.Message));
            return (reboot ? BootEnd.Reboot : BootEnd.Shutdown, e.Message);
        }
        if (lastCrash is not null && (lastCrash.Time is not { } t || span.Last - t <= CrashNearEnd)) return (BootEnd.CrashReport, lastCrash.Title);
        return (BootEnd.LogStopped, tail.LastOrDefault()?.Message);
    }
}
