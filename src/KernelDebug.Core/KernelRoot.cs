using System.IO.Compression;
using System.Text;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Inventory;

namespace KernelDebug.Core;

/// <summary>
/// Where a kernel's files live: <c>/</c> for the running system, or a directory holding <c>proc/</c>, <c>sys/</c>,
/// <c>dev/</c>, <c>boot/</c> captured from a machine (<c>Save-KernelSnapshot</c>) or written as a test fixture.
/// Every reader goes through one of these, so live and offline data take the same code path.
/// </summary>
public sealed class KernelRoot
{
    /// <summary>The largest file a reader loads whole. procfs reports size 0 or 4096 for most files, so the size is ignored and reads are capped instead.</summary>
    public const int DefaultMaxBytes = 64 * 1024 * 1024;

    /// <summary>The file a snapshot writes at its top describing the captured machine.</summary>
    public const string SnapshotManifestName = "kerneldebug-snapshot.json";

    /// <summary>The running system.</summary>
    public static KernelRoot Live { get; } = new("/");

    /// <summary>Creates a root at <paramref name="path"/>.</summary>
    /// <exception cref="KernelDebugException">The directory does not exist.</exception>
    public KernelRoot(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = System.IO.Path.GetFullPath(path);
        if (!Directory.Exists(full))
            throw new KernelDebugException("KernelRootNotFound", KernelErrorCategory.ObjectNotFound,
                $"The kernel root '{path}' is not a directory.",
                "Pass -Root a directory holding proc/ and sys/, such as one written by Save-KernelSnapshot.", path);
        Path = full;
        IsLive = full == "/";
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string, DateTime), string> Unpacked = new();

    /// <summary>
    /// Opens what a user passes as -Root: "/" (the running system), a directory, or a <c>.tar.gz</c> written by
    /// Save-KernelSnapshot (unpacked once per process into a temporary directory that is removed at exit).
    /// The tree must hold proc/, sys/ or var/: an empty or foreign directory is an error, not a machine with no features.
    /// </summary>
    /// <exception cref="KernelDebugException">KernelRootNotFound (missing), KernelRootNotAKernelTree (none of proc/, sys/, var/), SnapshotArchiveUnreadable.</exception>
    public static KernelRoot Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = System.IO.Path.GetFullPath(path);
        if (full == "/") return Live;
        if (File.Exists(full) && SnapshotWriter.IsArchivePath(full)) full = Unpack(full);
        var root = new KernelRoot(full);
        // var/ too: a dead machine's disk mounted for its journal, pstore archive and /var/crash (its proc/ may be absent in a copy).
        if (!root.DirectoryExists("proc") && !root.DirectoryExists("sys") && !root.DirectoryExists("var"))
            throw new KernelDebugException("KernelRootNotAKernelTree", KernelErrorCategory.InvalidArgument,
                $"The kernel root '{path}' holds none of proc/, sys/ or var/, so it is not a kernel tree (an empty or foreign directory).",
                "Pass -Root a directory or .tar.gz written by Save-KernelSnapshot, a machine's root file system (for its journal and crash archives), or omit -Root to read the running system.", path);
        return root;
    }

    private static string Unpack(string archive)
    {
        var key = (archive, File.GetLastWriteTimeUtc(archive));
        return Unpacked.GetOrAdd(key, k =>
        {
            string temp = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "kd-root-" + Guid.NewGuid().ToString("N")[..12]);
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                try { Directory.Delete(temp, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            };
            try { return SnapshotWriter.ExtractArchive(k.Item1, temp); }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException or FormatException)
            {
                throw new KernelDebugException("SnapshotArchiveUnreadable", KernelErrorCategory.ReadError,
                    $"The snapshot archive '{k.Item1}' cannot be read: {e.Message}",
                    "Pass a .tar.gz written by Save-KernelSnapshot (gzip-compressed tar), or the directory it was unpacked into.", k.Item1, e);
            }
        });
    }

    /// <summary>The root directory, fully qualified.</summary>
    public string Path { get; }

    /// <summary>True for the running system (<c>/</c>); false for a snapshot or fixture tree.</summary>
    public bool IsLive { get; }

    /// <summary>The absolute path of a kernel file, given as <c>proc/meminfo</c> or <c>/proc/meminfo</c>.</summary>
    public string Resolve(string relative) =>
        IsLive ? "/" + relative.TrimStart('/') : System.IO.Path.Combine(Path, relative.TrimStart('/'));

    /// <summary>Whether a file or directory exists under the root.</summary>
    public bool Exists(string relative)
    {
        string p = Resolve(relative);
        return File.Exists(p) || Directory.Exists(p);
    }

    /// <summary>Whether a directory exists under the root.</summary>
    public bool DirectoryExists(string relative) => Directory.Exists(Resolve(relative));

    /// <summary>
    /// Reads a whole kernel file as text (UTF-8, invalid bytes replaced), at most <paramref name="maxBytes"/>.
    /// </summary>
    /// <param name="relative">Path below the root, e.g. <c>proc/meminfo</c>.</param>
    /// <param name="providedBy">What creates the file (a mount, a CONFIG_ option), used in the not-found error.</param>
    /// <param name="maxBytes">Read cap.</param>
    /// <exception cref="KernelDebugException">Missing file or no permission, with the remedy.</exception>
    public string ReadText(string relative, string providedBy, int maxBytes = DefaultMaxBytes)
    {
        string path = Resolve(relative);
        try
        {
            return ReadCapped(path, maxBytes);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw KernelErrors.FileNotFound(path, providedBy);
        }
        catch (UnauthorizedAccessException e)
        {
            throw KernelErrors.AccessDenied(path, "Run as root, or with the capability the file requires (most kernel debugging files need CAP_SYS_ADMIN or CAP_SYSLOG).", e);
        }
        catch (IOException e)
        {
            throw new KernelDebugException("KernelFileReadError", KernelErrorCategory.ReadError,
                $"Reading '{path}' failed: {e.Message}", null, path, e);
        }
    }

    /// <summary>Reads a file like <see cref="ReadText"/>, returning null when it is missing or unreadable.</summary>
    public string? TryReadText(string relative, int maxBytes = DefaultMaxBytes)
    {
        try { return ReadCapped(Resolve(relative), maxBytes); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>Reads a small one-line file (a sysfs attribute, a sysctl) trimmed, or null when missing or unreadable.</summary>
    public string? TryReadValue(string relative) => TryReadText(relative, 64 * 1024)?.Trim();

    /// <summary>
    /// Opens a file for streaming as text; <c>.gz</c> files are decompressed. The caller disposes the reader.
    /// </summary>
    /// <exception cref="KernelDebugException">Missing file or no permission.</exception>
    public TextReader OpenText(string relative, string providedBy)
    {
        string path = Resolve(relative);
        try
        {
            return OpenTextFile(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw KernelErrors.FileNotFound(path, providedBy);
        }
        catch (UnauthorizedAccessException e)
        {
            throw KernelErrors.AccessDenied(path, "Run as root, or with the capability the file requires.", e);
        }
    }

    /// <summary>Opens any file (absolute path) for reading as text, decompressing <c>.gz</c> by its magic bytes.</summary>
    public static TextReader OpenTextFile(string path)
    {
        var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16);
        Stream s = fs;
        if (fs.CanSeek)
        {
            int b1 = fs.ReadByte(), b2 = fs.ReadByte();
            fs.Position = 0;
            if (b1 == 0x1f && b2 == 0x8b) s = new GZipStream(fs, CompressionMode.Decompress);
        }
        return new StreamReader(s, new UTF8Encoding(false, false), detectEncodingFromByteOrderMarks: false, 1 << 16);
    }

    /// <summary>Names of the entries (files and directories) in a directory under the root, or none when it is missing.</summary>
    public IEnumerable<string> EnumerateEntries(string relative, string pattern = "*")
    {
        string p = Resolve(relative);
        if (!Directory.Exists(p)) return Array.Empty<string>();
        try
        {
            return Directory.EnumerateFileSystemEntries(p, pattern).Select(System.IO.Path.GetFileName).OfType<string>().ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Array.Empty<string>();
        }
    }

    /// <summary>The memory page size of the machine: the live one, or the one a snapshot recorded (4096 if it did not).</summary>
    public int PageSize
    {
        get
        {
            if (IsLive) return Environment.SystemPageSize;
            return SnapshotManifest.TryRead(this)?.PageSize is int p and > 0 ? p : 4096;
        }
    }

    private static string ReadCapped(string path, int maxBytes)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None);
        byte[] buf = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Min(maxBytes, 1 << 16));
        try
        {
            var ms = new MemoryStream();
            int n;
            while (ms.Length < maxBytes && (n = fs.Read(buf, 0, (int)Math.Min(buf.Length, maxBytes - ms.Length))) > 0)
                ms.Write(buf, 0, n);
            var bytes = ms.GetBuffer().AsSpan(0, (int)ms.Length);
            if (bytes.Length >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b)
            {
                using var gz = new GZipStream(new MemoryStream(bytes.ToArray()), CompressionMode.Decompress);
                using var r = new StreamReader(gz, new UTF8Encoding(false, false));
                return r.ReadToEnd();
            }
            return Encoding.UTF8.GetString(bytes);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buf);
        }
    }

    /// <inheritdoc />
    public override string ToString() => Path;
}
