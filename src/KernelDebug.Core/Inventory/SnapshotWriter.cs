using System.Formats.Tar;
using System.IO.Compression;
using System.Runtime.InteropServices;
using KernelDebug.Core.Procfs;

namespace KernelDebug.Core.Inventory;

/// <summary>
/// Copies the files of <see cref="SnapshotCatalog"/> (and the special sources: tracefs, <c>/dev/kmsg</c>, tasks in
/// D state, <c>/boot/config-&lt;release&gt;</c>) from a root into a directory that <see cref="KernelRoot"/> reads
/// later, and writes the <see cref="SnapshotManifest"/>. Kernel files report size 0, so every file is read through
/// a capped read, never copied by size. Failures are recorded in the manifest, not thrown.
/// </summary>
public sealed partial class SnapshotWriter
{
    private readonly KernelRoot _source;
    private readonly string _dest;
    private readonly List<SnapshotFailure> _failed = new();
    private readonly List<string> _omitted = new();
    private readonly HashSet<string> _done = new(StringComparer.Ordinal);
    private int _files;
    private long _bytes;

    private SnapshotWriter(KernelRoot source, string dest)
    {
        _source = source;
        _dest = dest;
    }

    /// <summary>Progress: the step being copied.</summary>
    public delegate void ProgressHandler(string step, int percent);

    /// <summary>
    /// Writes a snapshot of <paramref name="source"/> into the directory <paramref name="destination"/> (created if
    /// needed; existing files are overwritten) and returns its manifest.
    /// </summary>
    /// <exception cref="Errors.KernelDebugException">The directory cannot be created (ErrorId SnapshotPathUnusable).</exception>
    public static SnapshotManifest Write(KernelRoot source, string destination, ProgressHandler? progress = null, CancellationToken cancel = default)
    {
        try { Directory.CreateDirectory(destination); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new Errors.KernelDebugException("SnapshotPathUnusable", e is UnauthorizedAccessException ? Errors.KernelErrorCategory.PermissionDenied : Errors.KernelErrorCategory.WriteError,
                $"The snapshot directory '{destination}' cannot be created: {e.Message}",
                "Give -Path a new or existing directory you can write, or a file name ending in .tar.gz.", destination, e);
        }
        var w = new SnapshotWriter(source, Path.GetFullPath(destination));
        return w.Run(progress, cancel);
    }

    /// <summary>
    /// Writes a snapshot into a gzip-compressed tar file (through a temporary directory that is removed afterwards).
    /// The archive holds one top folder named after the file (web1.tar.gz holds web1/), so unpacking it by hand
    /// does not scatter proc/ and sys/ into the current directory.
    /// </summary>
    public static SnapshotManifest WriteArchive(KernelRoot source, string archivePath, ProgressHandler? progress = null, CancellationToken cancel = default)
    {
        string temp = Path.Combine(Path.GetTempPath(), "kd-snapshot-" + Guid.NewGuid().ToString("N")[..12]);
        string top = Path.Combine(temp, ArchiveTopFolder(archivePath));
        try
        {
            var manifest = Write(source, top, progress, cancel);
            progress?.Invoke("compressing " + archivePath, 99);
            string full = Path.GetFullPath(archivePath);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            using (var fs = new FileStream(full, FileMode.Create, FileAccess.Write))
            using (var gz = new GZipStream(fs, CompressionLevel.Optimal))
                TarFile.CreateFromDirectory(top, gz, includeBaseDirectory: true);
            return manifest;
        }
        finally
        {
            try { Directory.Delete(temp, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>
    /// Unpacks a snapshot archive written by <see cref="WriteArchive"/> into a directory and returns the snapshot's
    /// root in it: the archive's one top folder, or <paramref name="destination"/> itself for an archive without one
    /// (written before archives had a top folder).
    /// </summary>
    public static string ExtractArchive(string archivePath, string destination)
    {
        Directory.CreateDirectory(destination);
        using (var fs = File.OpenRead(archivePath))
        using (var gz = new GZipStream(fs, CompressionMode.Decompress))
            TarFile.ExtractToDirectory(gz, destination, overwriteFiles: true);
        var entries = Directory.GetFileSystemEntries(destination);
        return entries.Length == 1 && Directory.Exists(entries[0]) ? entries[0] : destination;
    }

    /// <summary>The top folder of an archive: its file name without .tar.gz/.tgz ("snapshot" if nothing is left).</summary>
    public static string ArchiveTopFolder(string archivePath)
    {
        string name = Path.GetFileName(archivePath);
        foreach (var ext in new[] { ".tar.gz", ".tgz" })
            if (name.EndsWith(ext, StringComparison.OrdinalIgnoreCase)) { name = name[..^ext.Length]; break; }
        return name.Length == 0 ? "snapshot" : name;
    }

    /// <summary>Whether a path names an archive (<c>.tar.gz</c> or <c>.tgz</c>) rather than a directory.</summary>
    public static bool IsArchivePath(string path) =>
        path.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".tgz", StringComparison.OrdinalIgnoreCase);

    private SnapshotManifest Run(ProgressHandler? progress, CancellationToken cancel)
    {
        var entries = SnapshotCatalog.Entries;
        for (int i = 0; i < entries.Count; i++)
        {
            cancel.ThrowIfCancellationRequested();
            progress?.Invoke(entries[i].Pattern, i * 80 / entries.Count);
            foreach (string rel in Expand(entries[i].Pattern))
            {
                cancel.ThrowIfCancellationRequested();
                Copy(rel, entries[i].MaxBytes);
            }
        }
        progress?.Invoke("boot/config-<release>", 80);
        string? release = _source.TryReadValue("proc/sys/kernel/osrelease");
        if (release is not null && _source.Exists("boot/config-" + release)) Copy("boot/config-" + release, KernelRoot.DefaultMaxBytes);
        foreach (string rel in SnapshotCatalog.AlwaysOmitted)
            if (_source.Exists(rel)) _omitted.Add(rel);
        // Re-snapshotting a snapshot keeps what its source had left out.
        if (!_source.IsLive && SnapshotManifest.TryRead(_source) is { } earlier)
            foreach (string rel in earlier.Omitted)
                if (!_omitted.Contains(rel)) _omitted.Add(rel);
        progress?.Invoke("tracefs", 83);
        CopyTraceFs();
        cancel.ThrowIfCancellationRequested();
        progress?.Invoke("tasks in D state", 88);
        CopyBlockedTasks(cancel);
        progress?.Invoke("dev/kmsg", 93);
        CopyKmsg();

        var ctx = new Parsing.ParseContext("snapshot");
        var info = KernelInfoReader.Read(_source, ctx);
        var manifest = new SnapshotManifest
        {
            HostName = info.HostName,
            Release = info.Release,
            CapturedAt = DateTimeOffset.UtcNow,
            PageSize = _source.PageSize,
            CpuCount = info.CpuCount,
            FileCount = _files,
            TotalBytes = _bytes,
            Failed = _failed.ToArray(),
            Omitted = _omitted.ToArray(),
            WrittenBy = "KernelDebug " + typeof(SnapshotWriter).Assembly.GetName().Version?.ToString(3),
        };
        File.WriteAllText(Path.Combine(_dest, KernelRoot.SnapshotManifestName), manifest.ToJson());
        return manifest;
    }

    /// <summary>Expands a catalog pattern against the source root into relative file paths.</summary>
    internal IEnumerable<string> Expand(string pattern)
    {
        var segments = pattern.Split('/');
        IEnumerable<string> current = [""];
        for (int i = 0; i < segments.Length; i++)
        {
            string seg = segments[i];
            bool last = i == segments.Length - 1;
            if (seg == "**")
                return current.SelectMany(dir => Tree(dir));
            if (seg.Contains('*'))
            {
                current = current.SelectMany(dir => _source.EnumerateEntries(dir, seg).Order(StringComparer.Ordinal)
                    .Select(e => Join(dir, e))
                    .Where(p => last ? IsRegularFile(p) : IsRealDirectory(p)));
            }
            else
            {
                current = current.Select(dir => Join(dir, seg)).Where(p => last ? _source.Exists(p) && !_source.DirectoryExists(p) : IsRealDirectory(p));
            }
        }
        return current;
    }

    private static string Join(string dir, string name) => dir.Length == 0 ? name : dir + "/" + name;

    private bool IsRealDirectory(string rel)
    {
        var di = new DirectoryInfo(_source.Resolve(rel));
        return di.Exists && di.LinkTarget is null;
    }

    private bool IsRegularFile(string rel)
    {
        var fi = new FileInfo(_source.Resolve(rel));
        return fi.Exists && fi.LinkTarget is null;
    }

    // Paths not to enter: an automount point (entering it would mount binfmt_misc).
    private static readonly string[] SkipDirectories = ["proc/sys/fs/binfmt_misc"];

    private IEnumerable<string> Tree(string dir)
    {
        string top = _source.Resolve(dir);
        if (!Directory.Exists(top)) return [];
        var opts = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint, MaxRecursionDepth = 12 };
        return Directory.EnumerateFiles(top, "*", opts)
            .Select(f => Join(dir, Path.GetRelativePath(top, f)))
            .Where(rel => !SkipDirectories.Any(s => rel.StartsWith(s + "/", StringComparison.Ordinal)))
            .Order(StringComparer.Ordinal);
    }

    private void Copy(string rel, int maxBytes)
    {
        if (!_done.Add(rel)) return;
        string src = _source.Resolve(rel);
        UnixFileMode mode;
        try { mode = File.GetUnixFileMode(src); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { Fail(rel, e.Message); return; }
        // Write-only kernel files (vm.drop_caches, slab 'validate') have nothing to copy.
        if ((mode & (UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead)) == 0) return;
        byte[] data;
        try
        {
            using var fs = new FileStream(src, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
            data = ReadCapped(fs, maxBytes, out bool truncated);
            if (truncated) { _omitted.Add(rel); return; }
        }
        catch (UnauthorizedAccessException) { Fail(rel, "Permission denied (EACCES/EPERM)"); return; }
        catch (IOException e) { Fail(rel, e.Message); return; }
        Write(rel, data, rel.StartsWith("proc/sys/", StringComparison.Ordinal) ? mode : null);
    }

    private static byte[] ReadCapped(Stream s, int maxBytes, out bool truncated)
    {
        var ms = new MemoryStream();
        var buf = new byte[1 << 16];
        int n;
        while ((n = s.Read(buf, 0, buf.Length)) > 0)
        {
            ms.Write(buf, 0, n);
            if (ms.Length > maxBytes) { truncated = true; return []; }
        }
        truncated = false;
        return ms.ToArray();
    }

    private void Write(string rel, byte[] data, UnixFileMode? sourceMode)
    {
        string path = Path.Combine(_dest, rel);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, data);
        // Keep the owner-write bit of sysctls: Get-KernelSysctl reports Writable from it.
        if (sourceMode is { } m)
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead | (m & UnixFileMode.UserWrite));
        _files++;
        _bytes += data.Length;
    }

    private void Fail(string rel, string reason) => _failed.Add(new SnapshotFailure(rel, reason));

    private void CopyTraceFs()
    {
        string? mp = Tracing.TraceFs.TryLocate(_source)?.RelativePath;
        if (mp is null) return;
        foreach (string f in new[] { "available_tracers", "available_events", "trace_clock", "buffer_size_kb", "kprobe_events", "uprobe_events", "dynamic_events", "available_filter_functions" })
            if (_source.Exists(mp + "/" + f)) Copy(mp + "/" + f, 16 << 20);
        string events = mp + "/events";
        foreach (string family in _source.EnumerateEntries(events).Order(StringComparer.Ordinal))
        {
            string dir = events + "/" + family;
            if (!_source.DirectoryExists(dir))
            {
                if (family is "header_page" or "header_event") Copy(dir, 64 * 1024);
                continue;
            }
            // Every family's directory (so capability probes see which exist); formats only for the families decoded.
            Directory.CreateDirectory(Path.Combine(_dest, dir));
            if (!SnapshotCatalog.TraceEventFamilies.Contains(family)) continue;
            foreach (string ev in _source.EnumerateEntries(dir).Order(StringComparer.Ordinal))
                if (_source.Exists($"{dir}/{ev}/format")) Copy($"{dir}/{ev}/format", 64 * 1024);
        }
    }

    private void CopyBlockedTasks(CancellationToken cancel)
    {
        if (!_source.IsLive) return;
        foreach (string pid in _source.EnumerateEntries("proc"))
        {
            if (pid.Length == 0 || !char.IsAsciiDigit(pid[0])) continue;
            foreach (string tid in _source.EnumerateEntries($"proc/{pid}/task"))
            {
                cancel.ThrowIfCancellationRequested();
                string? stat = _source.TryReadText($"proc/{pid}/task/{tid}/stat", 64 * 1024);
                if (stat is null || TaskState(stat) != 'D') continue;
                // Saved as proc/<tid>/..., the path the kernel also answers for a thread id.
                foreach (string f in new[] { "status", "stat", "wchan", "stack", "comm" })
                    CopyAs($"proc/{pid}/task/{tid}/{f}", $"proc/{tid}/{f}");
            }
        }
    }

    /// <summary>The state letter of a <c>/proc/PID/stat</c> line (R, S, D, ...), found after the last ')' because the command name may contain one; '\0' when malformed.</summary>
    internal static char TaskState(ReadOnlySpan<char> stat)
    {
        int close = stat.LastIndexOf(')');
        return close >= 0 && close + 2 < stat.Length && stat[close + 1] == ' ' ? stat[close + 2] : '\0';
    }

    private void CopyAs(string srcRel, string destRel)
    {
        if (!_done.Add(destRel)) return;
        try
        {
            using var fs = new FileStream(_source.Resolve(srcRel), FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
            Write(destRel, ReadCapped(fs, 1 << 20, out _), null);
        }
        catch (UnauthorizedAccessException) { Fail(destRel, "Permission denied (EACCES/EPERM)"); }
        catch (IOException e) { Fail(destRel, e.Message); }
    }

    // /dev/kmsg: each read() returns one record; O_NONBLOCK makes the read after the last record fail with EAGAIN
    // instead of waiting for the next message.
    private void CopyKmsg()
    {
        if (!_source.IsLive) { if (_source.Exists("dev/kmsg") && !_source.DirectoryExists("dev/kmsg")) Copy("dev/kmsg", KernelRoot.DefaultMaxBytes); return; }
        var ms = new MemoryStream();
        try
        {
            foreach (var record in Kmsg.KernelLog.ReadRawRecords(_source))
            {
                if (ms.Length >= KernelRoot.DefaultMaxBytes) break;
                ms.Write(record);
            }
        }
        catch (Errors.KernelDebugException e) { Fail("dev/kmsg", e.Message); return; }
        Write("dev/kmsg", ms.ToArray(), null);
    }
}
