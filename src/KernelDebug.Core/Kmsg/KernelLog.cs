using KernelDebug.Core.Native;
using System.Runtime.InteropServices;
using System.Text;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Inventory;
using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Kmsg;

/// <summary>
/// Reads kernel log messages: live from <c>/dev/kmsg</c> (or a snapshot's copy of it) and from log files in any
/// <see cref="KernelLogFormat"/>, detected per file. Everything streams: memory stays flat whatever the log's size.
/// </summary>
public static class KernelLog
{
    /// <summary>The largest record <c>/dev/kmsg</c> returns (the kernel's CONSOLE_EXT_LOG_MAX is 8 KiB); read() fails with EINVAL on a smaller buffer.</summary>
    private const int RecordBufferSize = 16 * 1024;

    /// <summary>
    /// Reads the kernel log of <paramref name="root"/>. Live: <c>/dev/kmsg</c>, opened non-blocking and read record by
    /// record to the end of the ring buffer, or, with <paramref name="follow"/>, on until <paramref name="ct"/> is
    /// cancelled. Records overwritten before they could be read (<c>EPIPE</c>) and gaps in the sequence numbers are
    /// warned about and counted in <see cref="KernelMessage.LostMessages"/>. For a snapshot, <c>dev/kmsg</c> is a file
    /// of raw records. <see cref="KernelMessage.Time"/> is the boot time from <c>/proc/stat</c> plus the uptime.
    /// </summary>
    /// <exception cref="KernelDebugException">No permission (kernel.dmesg_restrict without CAP_SYSLOG) or no device.</exception>
    public static IEnumerable<KernelMessage> ReadDevice(KernelRoot root, ParseContext ctx, bool follow, CancellationToken ct)
    {
        var bootTime = KernelInfoReader.ReadBootTime(root);
        if (!root.IsLive)
        {
            string path = root.Resolve("dev/kmsg");
            if (!File.Exists(path)) throw KernelErrors.FileNotFound(path, "a snapshot that captured the kernel log (Save-KernelSnapshot copies /dev/kmsg to dev/kmsg)");
            return ReadText(path, ctx, KernelLogFormat.Kmsg, bootTime, ct);
        }
        return ReadLive(root, ctx, follow, bootTime, ct);
    }

    private static IEnumerable<KernelMessage> ReadLive(KernelRoot root, ParseContext ctx, bool follow, DateTimeOffset? bootTime, CancellationToken ct)
    {
        const string device = "/dev/kmsg";
        ctx.Source = device;
        int fd = LibC.Open(device, LibC.O_RDONLY | LibC.O_NONBLOCK | LibC.O_CLOEXEC);
        if (fd < 0) throw OpenError(root, Marshal.GetLastPInvokeError());
        try
        {
            foreach (var m in ReadRecords(buffer => ReadOnce(fd, buffer), token => Wait(fd, token), ctx, follow, bootTime, ct))
                yield return m;
        }
        finally
        {
            LibC.Close(fd);
        }
    }

    /// <summary>
    /// The live <c>/dev/kmsg</c> records as the kernel returns them (header, text and continuation lines, each ending in a
    /// newline), non-blocking to the end of the ring buffer; records overwritten while reading are skipped. For snapshots.
    /// </summary>
    /// <exception cref="KernelDebugException">No permission or no device.</exception>
    public static IEnumerable<byte[]> ReadRawRecords(KernelRoot root)
    {
        int fd = LibC.Open("/dev/kmsg", LibC.O_RDONLY | LibC.O_NONBLOCK | LibC.O_CLOEXEC);
        if (fd < 0) throw OpenError(root, Marshal.GetLastPInvokeError());
        try
        {
            byte[] buffer = new byte[RecordBufferSize];
            while (true)
            {
                var (n, errno) = ReadOnce(fd, buffer);
                if (n < 0 && errno is LibC.EPIPE or LibC.EINTR) continue;
                if (n < 0 && errno != LibC.EAGAIN)
                    throw new KernelDebugException("KmsgReadError", KernelErrorCategory.ReadError,
                        $"Reading /dev/kmsg failed with errno {errno} ({Marshal.GetPInvokeErrorMessage(errno)}).", null, "/dev/kmsg");
                if (n <= 0) yield break;
                var record = buffer.AsSpan(0, n);
                yield return record[^1] == (byte)'\n' ? record.ToArray() : [.. record, (byte)'\n'];
            }
        }
        finally
        {
            LibC.Close(fd);
        }
    }

    private static (int Length, int Errno) ReadOnce(int fd, byte[] buffer)
    {
        nint n;
        unsafe
        {
            fixed (byte* p = buffer) n = LibC.Read(fd, p, (nuint)buffer.Length);
        }
        return n < 0 ? (-1, Marshal.GetLastPInvokeError()) : ((int)n, 0);
    }

    /// <summary>
    /// The /dev/kmsg read loop, apart from the device so tests can feed it EPIPE and EAGAIN: <paramref name="read"/>
    /// returns one record's length or -1 and an errno; <paramref name="wait"/> blocks until more may be there.
    /// </summary>
    internal static IEnumerable<KernelMessage> ReadRecords(Func<byte[], (int Length, int Errno)> read, Action<CancellationToken> wait,
        ParseContext ctx, bool follow, DateTimeOffset? bootTime, CancellationToken ct)
    {
        const string device = "/dev/kmsg";
        byte[] buffer = new byte[RecordBufferSize];
        long lastSeq = -1;
        bool overwritten = false;
        while (!ct.IsCancellationRequested)
        {
            var (n, errno) = read(buffer);
            if (n < 0)
            {
                if (errno == LibC.EINTR) continue;
                if (errno == LibC.EPIPE)
                {
                    // The reader fell behind the ring buffer; the next read returns the oldest record still there.
                    overwritten = true;
                    continue;
                }
                if (errno == LibC.EAGAIN)
                {
                    if (!follow) yield break;
                    wait(ct);
                    continue;
                }
                throw new KernelDebugException("KmsgReadError", KernelErrorCategory.ReadError,
                    $"Reading {device} failed with errno {errno} ({Marshal.GetPInvokeErrorMessage(errno)}).", null, device);
            }
            if (n == 0)
            {
                if (!follow) yield break;
                wait(ct);
                continue;
            }
            string record = Encoding.UTF8.GetString(buffer, 0, n);
            var m = KmsgRecordParser.ParseRecord(record, ctx, bootTime, device);
            if (m is null) continue;
            long seq = m.Sequence ?? -1;
            long? lost = null;
            if (lastSeq >= 0 && seq > lastSeq + 1) lost = seq - lastSeq - 1;
            else if (overwritten) lost = 0;
            if (lost is not null)
            {
                ctx.Warn(0, lost > 0
                    ? $"{lost} message(s) lost before sequence {seq}: " + (overwritten ? "overwritten in the kernel ring buffer before they were read" : "missing from the sequence")
                    : $"messages were overwritten in the kernel ring buffer before sequence {seq} could be read");
                m = m with { LostMessages = lost };
            }
            overwritten = false;
            if (seq >= 0) lastSeq = seq;
            yield return m;
        }
    }

    private static unsafe void Wait(int fd, CancellationToken ct)
    {
        var pfd = new LibC.PollFd { Fd = fd, Events = LibC.POLLIN };
        // Short timeouts so cancellation is seen promptly without a wake-up pipe.
        while (!ct.IsCancellationRequested)
        {
            pfd.Revents = 0;
            int r = LibC.Poll(&pfd, 1, 200);
            if (r > 0 || (r < 0 && Marshal.GetLastPInvokeError() != LibC.EINTR)) return;
        }
    }

    private static KernelDebugException OpenError(KernelRoot root, int errno)
    {
        if (errno is LibC.EPERM or LibC.EACCES)
        {
            string restrict = root.TryReadValue("proc/sys/kernel/dmesg_restrict") ?? "unknown";
            return KernelErrors.PrivilegeRequired("KmsgAccessDenied", "Reading the kernel log (/dev/kmsg)",
                $"The kernel lets only processes with CAP_SYSLOG read it while kernel.dmesg_restrict=1 (here: {restrict}). " +
                "Run as root or with CAP_SYSLOG (e.g. sudo, or 'setcap cap_syslog+ep' on the host program), " +
                "or allow everyone with 'sysctl kernel.dmesg_restrict=0'. Saved logs can be read with -Path.", "/dev/kmsg");
        }
        if (errno == LibC.ENOENT) return KernelErrors.FileNotFound("/dev/kmsg", "devtmpfs (the kernel creates /dev/kmsg when CONFIG_PRINTK=y)");
        return new KernelDebugException("KmsgOpenError", KernelErrorCategory.ResourceUnavailable,
            $"Opening /dev/kmsg failed with errno {errno} ({Marshal.GetPInvokeErrorMessage(errno)}).", null, "/dev/kmsg");
    }

    /// <summary>
    /// Reads a kernel log file, detecting its format from its first lines (<see cref="KernelLogParser.Detect"/>);
    /// <c>.gz</c> files are decompressed. A pstore dmesg file (<c>dmesg-&lt;backend&gt;-&lt;id&gt;</c>) is read together
    /// with the other parts of the same dump in its directory, in order. Malformed lines become warnings in
    /// <paramref name="ctx"/> (whose <see cref="ParseContext.Source"/> is set to the file being read).
    /// </summary>
    /// <exception cref="KernelDebugException">The file is missing or unreadable (raised when enumeration starts).</exception>
    public static IEnumerable<KernelMessage> ReadFile(string path, ParseContext ctx) => ReadGroup(GroupOf(Path.GetFullPath(path)), ctx);

    /// <summary>
    /// As <see cref="ReadFile(string, ParseContext)"/>, building only the messages <paramref name="wanted"/> asks for:
    /// a message whose lines it all declines is not built (dmesg-style text; other formats are read whole). For readers
    /// that need a few regions of a large log, such as the crash-report scanner.
    /// </summary>
    internal static IEnumerable<KernelMessage> ReadFile(string path, ParseContext ctx, KernelLogParser.LineFilter wanted)
    {
        var files = GroupOf(Path.GetFullPath(path));
        return files.Count == 1 ? ReadText(files[0], ctx, null, null, CancellationToken.None, wanted) : ReadPstoreParts(files, ctx);
    }

    /// <summary>
    /// Reads several files as <see cref="ReadFile"/> does, each pstore dump once even when several of its parts are
    /// given. An error on one file ends the enumeration; use <see cref="GroupFiles"/> and <see cref="ReadGroup"/> to go on past it.
    /// </summary>
    public static IEnumerable<KernelMessage> ReadFiles(IEnumerable<string> paths, ParseContext ctx) =>
        GroupFiles(paths).SelectMany(g => ReadGroup(g, ctx));

    /// <summary>
    /// Splits files into logs: each file alone, except the parts of one pstore dump, which form one log in reading
    /// order (highest part first). Parts of a dump found beside a given one are added.
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<string>> GroupFiles(IEnumerable<string> paths)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var groups = new List<IReadOnlyList<string>>();
        foreach (var p in paths)
        {
            string full = Path.GetFullPath(p);
            if (seen.Contains(full)) continue;
            var g = GroupOf(full);
            foreach (var f in g) seen.Add(f);
            groups.Add(g);
        }
        return groups;
    }

    /// <summary>Reads one log made of the files of a group from <see cref="GroupFiles"/> (one file, or a pstore dump's parts in order).</summary>
    public static IEnumerable<KernelMessage> ReadGroup(IReadOnlyList<string> files, ParseContext ctx)
    {
        if (files.Count == 1) return ReadText(files[0], ctx, null, null, CancellationToken.None);
        return ReadPstoreParts(files, ctx);
    }

    private static IEnumerable<KernelMessage> ReadPstoreParts(IReadOnlyList<string> files, ParseContext ctx)
    {
        var parser = new KernelLogParser(KernelLogFormat.Pstore, ctx, files[0]);
        foreach (var file in files)
        {
            ctx.Source = file;
            parser.Source = file;
            using var reader = Open(file);
            var lines = new LineReader(reader);
            while (lines.Next())
            {
                var m = parser.Feed(lines.Line, lines.LineNumber);
                if (m is not null) yield return m;
            }
        }
        if (parser.Flush() is { } last) yield return last;
    }

    private static IEnumerable<KernelMessage> ReadText(string path, ParseContext ctx, KernelLogFormat? format, DateTimeOffset? bootTime, CancellationToken ct,
        KernelLogParser.LineFilter? wanted = null)
    {
        ctx.Source = path;
        using var reader = Open(path);
        DateTimeOffset reference;
        try { reference = File.GetLastWriteTime(path); }
        catch (IOException) { reference = DateTimeOffset.Now; }
        var lines = new LineReader(reader);
        var head = new List<string>(KernelLogParser.DetectLines);
        while (head.Count < KernelLogParser.DetectLines && lines.Next()) head.Add(lines.Line.ToString());
        var detected = KernelLogParser.Detect(head, out var shape);
        var parser = new KernelLogParser(format ?? detected, ctx, path, bootTime, reference) { Shape = format is null ? shape : null, Wanted = wanted };
        for (int i = 0; i < head.Count; i++)
            if (parser.Feed(head[i], i + 1) is { } m) yield return m;
        if (head.Count == KernelLogParser.DetectLines)
        {
            while (lines.Next())
            {
                var m = parser.Feed(lines.Line, lines.LineNumber);
                if (m is not null) yield return m;
                if (ct.IsCancellationRequested) yield break;
            }
        }
        if (parser.Flush() is { } last) yield return last;
    }

    /// <summary>The format a file would be read as (its first lines decide).</summary>
    public static KernelLogFormat DetectFormat(string path)
    {
        using var reader = Open(path);
        var lines = new LineReader(reader);
        var head = new List<string>();
        while (head.Count < KernelLogParser.DetectLines && lines.Next()) head.Add(lines.Line.ToString());
        return KernelLogParser.Detect(head);
    }

    private static TextReader Open(string path)
    {
        try
        {
            return KernelRoot.OpenTextFile(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new KernelDebugException("KernelLogNotFound", KernelErrorCategory.ObjectNotFound, $"The log file '{path}' does not exist.", null, path, e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw KernelErrors.AccessDenied(path, "Run as root or as a user allowed to read the file (logs under /var/log are often readable only by root or the adm group).", e);
        }
        catch (IOException e)
        {
            throw new KernelDebugException("KernelLogReadError", KernelErrorCategory.ReadError, $"Reading '{path}' failed: {e.Message}", null, path, e);
        }
    }

    // One file, or the parts of the pstore dump it belongs to, highest part first.
    private static IReadOnlyList<string> GroupOf(string path)
    {
        string name = Path.GetFileName(path);
        if (!PstoreHeader.IsPstoreFileName(name) || FirstHeader(path) is not { } seed) return [path];
        string? dir = Path.GetDirectoryName(path);
        if (dir is null) return [path];
        string backend = PstoreHeader.Backend(name);
        DateTime seedTime = SafeWriteTime(path);
        var parts = new Dictionary<int, (string File, TimeSpan Distance)>();
        IEnumerable<string> siblings;
        try { siblings = Directory.EnumerateFiles(dir, "dmesg-" + backend + "-*").ToArray(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { siblings = [path]; }
        foreach (var f in siblings)
        {
            if (FirstHeader(f) is not { } h || h.Reason != seed.Reason || h.Count != seed.Count) continue;
            // Two boots can both have written "Panic#1": keep, per part, the file written closest to the given one.
            var distance = (SafeWriteTime(f) - seedTime).Duration();
            if (f == path) distance = TimeSpan.MinValue;
            if (!parts.TryGetValue(h.Part, out var cur) || distance < cur.Distance) parts[h.Part] = (f, distance);
        }
        if (parts.Count == 0) return [path];
        return parts.OrderByDescending(kv => kv.Key).Select(kv => kv.Value.File).ToArray();
    }

    private static PstoreHeader? FirstHeader(string path)
    {
        try
        {
            using var r = KernelRoot.OpenTextFile(path);
            var first = r.ReadLine();
            return first is not null && PstoreHeader.TryParse(first, out var h) ? h : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            return null;
        }
    }

    private static DateTime SafeWriteTime(string path)
    {
        try { return File.GetLastWriteTimeUtc(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return default; }
    }
}
