using System.Globalization;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Kmsg;
using KernelDebug.Core.Oops;
using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Journal;

/// <summary>Who kept a crash log.</summary>
public enum CrashArchiveKind
{
    /// <summary>Still in the pstore file system (/sys/fs/pstore): not archived yet.</summary>
    Pstore,
    /// <summary>Moved out of pstore by systemd-pstore (/var/lib/systemd/pstore).</summary>
    SystemdPstore,
    /// <summary>Written by kdump-tools from the crash kernel (/var/crash/&lt;time&gt;/dmesg.&lt;time&gt;).</summary>
    Kdump,
}

/// <summary>One kept crash log (a pstore dump or a kdump directory) and the crash reports found in it.</summary>
public sealed record CrashArchive
{
    /// <summary>Who kept it.</summary>
    public required CrashArchiveKind Kind { get; init; }
    /// <summary>The directory (or, for a flat pstore archive, the first file) of the dump.</summary>
    public required string Path { get; init; }
    /// <summary>The log files of the dump, in reading order.</summary>
    public required IReadOnlyList<string> Files { get; init; }
    /// <summary><see cref="Files"/> joined with ";" (for CSV).</summary>
    public string FilePaths => string.Join(";", Files);
    /// <summary>When it was kept: kdump's directory name (the crash time), else the files' modification time.</summary>
    public DateTimeOffset? Time { get; init; }
    /// <summary>The crash reports in it.</summary>
    public IReadOnlyList<KernelOops> Reports { get; init; } = [];
    /// <summary>Titles of <see cref="Reports"/>, joined with "; " (for tables and CSV).</summary>
    public string ReportTitles => string.Join("; ", Reports.Select(r => r.Title));
}

/// <summary>
/// Finds the crash logs a machine kept after it went down, without the user naming paths: what is still in
/// /sys/fs/pstore, what systemd-pstore archived under /var/lib/systemd/pstore (a directory per dump, or files moved
/// flat), and what kdump-tools saved under /var/crash/&lt;YYYYMMDDHHMM&gt;/dmesg.&lt;YYYYMMDDHHMM&gt;.
/// </summary>
public static class CrashArchives
{
    /// <summary>The places searched, relative to a root.</summary>
    public static readonly string[] Places = ["sys/fs/pstore", "var/lib/systemd/pstore", "var/crash"];

    /// <summary>Every archive under <paramref name="root"/>, oldest first, with its crash reports parsed.</summary>
    public static IReadOnlyList<CrashArchive> Find(KernelRoot root, ParseContext ctx)
    {
        var found = new List<CrashArchive>();
        Pstore(root.Resolve("sys/fs/pstore"), CrashArchiveKind.Pstore, false, found, ctx);
        string archived = root.Resolve("var/lib/systemd/pstore");
        Pstore(archived, CrashArchiveKind.SystemdPstore, false, found, ctx);
        foreach (var dir in Dirs(archived, ctx)) Pstore(dir, CrashArchiveKind.SystemdPstore, true, found, ctx);
        foreach (var dir in Dirs(root.Resolve("var/crash"), ctx))
        {
            var files = Files(dir, ctx).Where(f => System.IO.Path.GetFileName(f).StartsWith("dmesg.", StringComparison.Ordinal)
                                                   || System.IO.Path.GetFileName(f) == "vmcore-dmesg.txt").ToArray();
            if (files.Length == 0) continue;
            var time = ParseKdumpTime(System.IO.Path.GetFileName(dir)) ?? ModifiedTime(files[0]);
            found.Add(Load(CrashArchiveKind.Kdump, dir, files, time, ctx));
        }
        return found.OrderBy(a => a.Time ?? DateTimeOffset.MinValue).ToArray();
    }

    // pstore files of one directory: each dump (its parts together) is an archive. systemd-pstore also writes the
    // parts of an EFI dump joined as dmesg.txt.
    private static void Pstore(string dir, CrashArchiveKind kind, bool perDirectory, List<CrashArchive> found, ParseContext ctx)
    {
        var files = Files(dir, ctx).Where(f =>
        {
            string n = System.IO.Path.GetFileName(f);
            return (n.StartsWith("dmesg-", StringComparison.Ordinal) && !n.EndsWith(".enc.z", StringComparison.Ordinal)) || n == "dmesg.txt";
        }).ToArray();
        if (files.Length == 0) return;
        // dmesg.txt already holds the parts in order: the parts themselves would repeat it.
        var joined = files.FirstOrDefault(f => System.IO.Path.GetFileName(f) == "dmesg.txt");
        IReadOnlyList<IReadOnlyList<string>> groups = joined is not null ? [new[] { joined }] : KernelLog.GroupFiles(files);
        foreach (var g in groups)
            found.Add(Load(kind, perDirectory || g.Count > 1 ? dir : g[0], g, ModifiedTime(g[0]), ctx));
    }

    private static CrashArchive Load(CrashArchiveKind kind, string path, IReadOnlyList<string> files, DateTimeOffset? time, ParseContext ctx)
    {
        IReadOnlyList<KernelOops> reports;
        try { reports = KernelOopsParser.Parse(KernelLog.ReadGroup(files, ctx), ctx).ToArray(); }
        catch (KernelDebugException e)
        {
            ctx.Source = files[0];
            ctx.Warn(0, e.Message);
            reports = [];
        }
        return new CrashArchive { Kind = kind, Path = path, Files = files, Time = time, Reports = reports };
    }

    /// <summary>kdump-tools names its directories by the crash time, local time, YYYYMMDDHHMM.</summary>
    public static DateTimeOffset? ParseKdumpTime(string name) =>
        DateTime.TryParseExact(name, "yyyyMMddHHmm", CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal, out var t) ? new DateTimeOffset(t) : null;

    private static DateTimeOffset? ModifiedTime(string file)
    {
        try { return File.GetLastWriteTimeUtc(file) is var t && t.Year > 1601 ? new DateTimeOffset(t, TimeSpan.Zero) : null; }
        catch (IOException) { return null; }
    }

    private static string[] Dirs(string dir, ParseContext ctx) => List(dir, ctx, Directory.EnumerateDirectories);
    private static string[] Files(string dir, ParseContext ctx) => List(dir, ctx, Directory.EnumerateFiles);

    private static string[] List(string dir, ParseContext ctx, Func<string, IEnumerable<string>> enumerate)
    {
        if (!Directory.Exists(dir)) return [];
        try { return enumerate(dir).Order(StringComparer.Ordinal).ToArray(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ctx.Source = dir;
            ctx.Warn(0, $"cannot list the crash archive directory: {e.Message}");
            return [];
        }
    }

    /// <summary>
    /// The boot an archive belongs to. kdump writes from the crash kernel, right after the panic: the boot that was
    /// running then. systemd-pstore archives early in the next boot: the boot before the one running then.
    /// </summary>
    public static JournalBootSpan? BootOf(CrashArchive archive, IReadOnlyList<JournalBootSpan> boots)
    {
        if (archive.Time is not { } t || boots.Count == 0) return null;
        int running = -1;
        for (int i = 0; i < boots.Count; i++)
            if (boots[i].First <= t) running = i;
        if (archive.Kind == CrashArchiveKind.Kdump) return running >= 0 ? boots[running] : null;
        // Archived after the next boot's first entry: that next boot is "running"; before it (the journal of the next
        // boot was lost), the newest boot that started before it.
        if (running < 0) return null;
        if (running > 0 && t - boots[running].First < TimeSpan.FromMinutes(30)) return boots[running - 1];
        return t > boots[running].Last ? boots[running] : null;
    }
}
