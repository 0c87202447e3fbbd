using System.Runtime.InteropServices;
using System.Text;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Native;
using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Journal;

/// <summary>One journal entry: the fields a kernel-log reader and the boot analysis need.</summary>
public sealed record JournalEntry
{
    /// <summary>The boot the entry was logged in (32 hex digits).</summary>
    public required string BootId { get; init; }
    /// <summary>When journald received it (wall clock).</summary>
    public required DateTimeOffset Time { get; init; }
    /// <summary>journald's monotonic time of the entry (since its boot).</summary>
    public required TimeSpan Monotonic { get; init; }
    /// <summary>MESSAGE.</summary>
    public required string Message { get; init; }
    /// <summary>_TRANSPORT: kernel, journal, syslog, stdout, driver, audit.</summary>
    public string? Transport { get; init; }
    /// <summary>PRIORITY (0-7).</summary>
    public int? Priority { get; init; }
    /// <summary>SYSLOG_FACILITY.</summary>
    public int? Facility { get; init; }
    /// <summary>SYSLOG_IDENTIFIER (e.g. kernel, systemd, systemd-journald).</summary>
    public string? Identifier { get; init; }
    /// <summary>_SOURCE_MONOTONIC_TIMESTAMP: the kernel's own timestamp of a kernel message.</summary>
    public TimeSpan? SourceMonotonic { get; init; }
    /// <summary>_KERNEL_SUBSYSTEM.</summary>
    public string? KernelSubsystem { get; init; }
    /// <summary>_KERNEL_DEVICE.</summary>
    public string? KernelDevice { get; init; }
    /// <summary>_HOSTNAME.</summary>
    public string? HostName { get; init; }
    /// <summary>The journal file the entry was read from.</summary>
    public required string File { get; init; }
}

/// <summary>A boot as the journal knows it: its id and the times of its first and last entries.</summary>
/// <param name="BootId">32 hex digits.</param>
/// <param name="First">Time of the boot's first entry.</param>
/// <param name="Last">Time of the boot's last entry.</param>
public sealed record JournalBootSpan(string BootId, DateTimeOffset First, DateTimeOffset Last);

/// <summary>
/// Reads systemd journal files through libsystemd's sd-journal API. Each file has its own sd_journal handle and the
/// entries are merged by time, so a damaged file is named in the warning and the other files are read whole.
/// A file libsystemd refuses because it is shorter than its header says (a copy cut short, a full disk) is read from a
/// temporary copy padded back to its declared size: libsystemd then reads every entry before the cut.
/// </summary>
public sealed class JournalReader : IDisposable
{
    private const int ENODATA = 61, EBADMSG = 74, EACCES = 13, EPERM = 1;
    private readonly List<(string Path, nint Handle)> _files = new();
    private readonly List<string> _temporary = new();
    private readonly ParseContext _ctx;
    private IReadOnlyList<JournalBootSpan>? _boots;
    // Per file: the last sequence number seen in this pass, and the gaps already reported.
    private readonly Dictionary<nint, (string Id, ulong Seq)> _lastSeq = new();
    private readonly HashSet<(string, ulong)> _gapsReported = new();

    private JournalReader(ParseContext ctx) => _ctx = ctx;

    /// <summary>The journal files being read (as given, not their repaired copies).</summary>
    public IReadOnlyList<string> Files => _files.Select(f => f.Path).ToArray();

    /// <summary>True when libsystemd can be loaded on this machine.</summary>
    public static bool IsAvailable
    {
        get
        {
            try { return NativeLibrary.TryLoad("libsystemd.so.0", out _); }
            catch (Exception) { return false; }
        }
    }

    /// <summary>True for a file name the journal writes (<c>*.journal</c>, and <c>*.journal~</c> for files journald set aside).</summary>
    public static bool IsJournalFileName(string path) =>
        path.EndsWith(".journal", StringComparison.Ordinal) || path.EndsWith(".journal~", StringComparison.Ordinal);

    /// <summary>True when the file starts with the journal's signature ("LPKSHHRH").</summary>
    public static bool HasJournalSignature(string path)
    {
        try
        {
            using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
            Span<byte> b = stackalloc byte[8];
            return f.ReadAtLeast(b, 8, throwOnEndOfStream: false) == 8 && b.SequenceEqual("LPKSHHRH"u8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    /// <summary>The journal files of a directory: the files in it and in its subdirectories (journald keeps one per machine id).</summary>
    public static IReadOnlyList<string> FindFiles(string directory)
    {
        if (!Directory.Exists(directory)) return [];
        try
        {
            return Directory.EnumerateFiles(directory, "*", new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 2, IgnoreInaccessible = false })
                .Where(IsJournalFileName).Order(StringComparer.Ordinal).ToArray();
        }
        catch (UnauthorizedAccessException e)
        {
            throw KernelErrors.AccessDenied(directory, "Run as root or as a member of the systemd-journal or adm group to read the journal.", e);
        }
    }

    /// <summary>The persistent and volatile journal of a system root (<c>var/log/journal</c>, <c>run/log/journal</c>).</summary>
    public static IReadOnlyList<string> FindFiles(KernelRoot root) =>
        [.. FindFiles(root.Resolve("var/log/journal")), .. FindFiles(root.Resolve("run/log/journal"))];

    /// <summary>
    /// Opens journal files. A file libsystemd cannot open is a warning naming it (and the entries of the others are
    /// read); a truncated file is read up to the cut. Throws when no file is given or access to one is denied.
    /// </summary>
    public static JournalReader Open(IEnumerable<string> files, ParseContext ctx)
    {
        var list = files.ToList();
        if (list.Count == 0)
            throw new KernelDebugException("JournalNotFound", KernelErrorCategory.ObjectNotFound, "No systemd journal files were found.",
                "Read a journal directory with -Path (/var/log/journal, /run/log/journal or a copied journal/ folder), or make journald keep a " +
                "persistent journal: mkdir -p /var/log/journal && systemctl restart systemd-journald (Storage=auto keeps it from then on).");
        var reader = new JournalReader(ctx);
        try
        {
            foreach (var f in list) reader.Add(f);
        }
        catch
        {
            reader.Dispose();
            throw;
        }
        return reader;
    }

    private void Add(string path)
    {
        int r = OpenOne(path, out nint handle);
        if (r == -EACCES || r == -EPERM)
            throw KernelErrors.AccessDenied(path, "Run as root or as a member of the systemd-journal or adm group to read the journal.");
        if (r == -ENODATA && PadTruncated(path) is { } copy)
        {
            _temporary.Add(copy);
            if (OpenOne(copy, out handle) >= 0)
            {
                _files.Add((path, handle));
                _ctx.Source = path;
                _ctx.Warn(0, "the journal file is truncated (shorter than its header says); the entries before the cut are read");
                return;
            }
        }
        if (r < 0)
        {
            _ctx.Source = path;
            _ctx.Warn(0, $"libsystemd cannot read this journal file ({LibC.Describe(-r)}); it is skipped");
            return;
        }
        _files.Add((path, handle));
    }

    private static unsafe int OpenOne(string path, out nint handle)
    {
        handle = 0;
        byte[] utf8 = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = utf8)
        {
            nint* paths = stackalloc nint[2];
            paths[0] = (nint)p;
            paths[1] = 0;
            int r;
            try { r = LibSystemdJournal.OpenFiles(out handle, (nint)paths, 0); }
            catch (DllNotFoundException e)
            {
                throw KernelErrors.FeatureMissing("LibsystemdNotFound", "libsystemd (libsystemd.so.0), which reads the systemd journal",
                    "Install it: apt-get install libsystemd0 (every systemd system has it).", e.Message);
            }
            if (r >= 0) LibSystemdJournal.SetDataThreshold(handle, 0);
            return r;
        }
    }

    // The only fields read by hand: header_size and arena_size (offsets 88 and 96 of the header), to give the copy of a
    // cut file the size libsystemd expects. The zeros past the cut are not objects, so libsystemd stops there.
    private static string? PadTruncated(string path)
    {
        try
        {
            using var src = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            Span<byte> header = stackalloc byte[104];
            if (src.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length || !header[..8].SequenceEqual("LPKSHHRH"u8)) return null;
            ulong size = BitConverter.ToUInt64(header[88..96]) + BitConverter.ToUInt64(header[96..104]);
            if (size <= (ulong)src.Length || size > 1UL << 36) return null;
            string copy = Path.Combine(Path.GetTempPath(), $"kerneldebug-{Environment.ProcessId}-{Guid.NewGuid():N}.journal");
            src.Position = 0;
            using (var dst = new FileStream(copy, FileMode.CreateNew, FileAccess.Write))
            {
                src.CopyTo(dst);
                dst.SetLength((long)size);
            }
            return copy;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>The boots in the journal, oldest first.</summary>
    public IReadOnlyList<JournalBootSpan> Boots()
    {
        if (_boots is not null) return _boots;
        // One pass over the entries' headers (no data): seeking to a boot's tail through a _BOOT_ID match returns
        // entries of later boots in libsystemd 252, so the ends are taken from the entries themselves.
        var spans = new Dictionary<string, (DateTimeOffset First, DateTimeOffset Last)>(StringComparer.Ordinal);
        foreach (var (path, h) in _files)
        {
            LibSystemdJournal.FlushMatches(h);
            LibSystemdJournal.SeekHead(h);
            while (true)
            {
                int r = LibSystemdJournal.Next(h);
                if (r <= 0) break;
                if (LibSystemdJournal.GetRealtimeUsec(h, out ulong usec) < 0 || LibSystemdJournal.GetMonotonicUsec(h, out _, out var boot) < 0) continue;
                string id = boot.ToHex();
                var t = FromUsec(usec);
                spans[id] = spans.TryGetValue(id, out var cur) ? (t < cur.First ? t : cur.First, t > cur.Last ? t : cur.Last) : (t, t);
            }
        }
        return _boots = spans.Select(kv => new JournalBootSpan(kv.Key, kv.Value.First, kv.Value.Last)).OrderBy(b => b.First).ToArray();
    }

    /// <summary>
    /// The entries of one boot (or all with null), optionally only the kernel's (<c>_TRANSPORT=kernel</c>), in time order.
    /// A damaged entry is a warning naming the file, and reading goes on.
    /// </summary>
    public IEnumerable<JournalEntry> Entries(string? bootId, bool kernelOnly, CancellationToken ct = default)
    {
        // No sd_journal matches: a match walks the entry arrays of that field's data object, and one damaged object
        // ends the walk, where the file's own entry array still leads past the damage (as journalctl reads it).
        // A boot is found by time instead: from its first entry to its last.
        JournalBootSpan? span = null;
        if (bootId is not null)
        {
            span = Boots().FirstOrDefault(b => b.BootId == bootId);
            if (span is null) yield break;
        }
        var cursors = new List<(string Path, nint Handle, JournalEntry? Current)>();
        foreach (var (path, h) in _files)
        {
            LibSystemdJournal.FlushMatches(h);
            _lastSeq.Remove(h);
            if (span is null) LibSystemdJournal.SeekHead(h);
            else LibSystemdJournal.SeekRealtimeUsec(h, (ulong)((span.First - DateTimeOffset.UnixEpoch).Ticks / 10));
            cursors.Add((path, h, NextEntry(path, h, span, kernelOnly)));
        }
        // k-way merge by time; files are few, so a scan beats a heap.
        while (!ct.IsCancellationRequested)
        {
            int best = -1;
            for (int i = 0; i < cursors.Count; i++)
                if (cursors[i].Current is { } c && (best < 0 || c.Time < cursors[best].Current!.Time)) best = i;
            if (best < 0) yield break;
            var (p, hh, e) = cursors[best];
            yield return e!;
            cursors[best] = (p, hh, NextEntry(p, hh, span, kernelOnly));
        }
    }

    /// <summary>The last <paramref name="count"/> entries of a boot (every transport), oldest first.</summary>
    public IReadOnlyList<JournalEntry> Tail(string bootId, int count)
    {
        // Forward through the boot's entries: backwards through a match is not reliable in libsystemd 252 (see Boots).
        var last = new Queue<JournalEntry>(count + 1);
        foreach (var e in Entries(bootId, kernelOnly: false))
        {
            if (e.BootId != bootId) continue;
            last.Enqueue(e);
            if (last.Count > count) last.Dequeue();
        }
        return last.ToArray();
    }

    private JournalEntry? NextEntry(string path, nint h, JournalBootSpan? span, bool kernelOnly)
    {
        while (true)
        {
            int r = LibSystemdJournal.Next(h);
            if (r == 0) return null;
            if (r < 0)
            {
                _ctx.Source = path;
                _ctx.Warn(0, $"libsystemd stopped reading this journal file at a damaged entry ({LibC.Describe(-r)})");
                return null;
            }
            CheckSequence(path, h);
            if (span is not null)
            {
                // The header fields first: entries of other boots cost no data lookups.
                if (LibSystemdJournal.GetRealtimeUsec(h, out ulong usec) < 0 || LibSystemdJournal.GetMonotonicUsec(h, out _, out var boot) < 0) continue;
                if (FromUsec(usec) > span.Last) return null;
                if (boot.ToHex() != span.BootId) continue;
            }
            if (kernelOnly && Field(h, "_TRANSPORT") != "kernel") continue;
            if (ReadEntry(path, h) is { } e) return e;
        }
    }

    // libsystemd steps over entries it cannot read without saying so; the writer numbers a file's entries one by
    // one, so a jump in the sequence numbers (from the entry's cursor) is the damage to report.
    private unsafe void CheckSequence(string path, nint h)
    {
        if (LibSystemdJournal.GetCursor(h, out nint c) < 0 || c == 0) return;
        string cursor;
        try { cursor = Marshal.PtrToStringUTF8(c) ?? ""; }
        finally { LibC.Free(c); }
        string? id = null;
        ulong seq = 0;
        foreach (var part in cursor.Split(';'))
        {
            if (part.StartsWith("s=", StringComparison.Ordinal)) id = part[2..];
            else if (part.StartsWith("i=", StringComparison.Ordinal) && !ulong.TryParse(part[2..], System.Globalization.NumberStyles.HexNumber, null, out seq)) return;
        }
        if (id is null || seq == 0) return;
        if (_lastSeq.TryGetValue(h, out var last) && last.Id == id && seq > last.Seq + 1 && _gapsReported.Add((path, last.Seq)))
        {
            _ctx.Source = path;
            _ctx.Warn(0, $"{seq - last.Seq - 1} journal entries are unreadable (damaged) after entry {last.Seq}; the entries around them are read");
        }
        _lastSeq[h] = (id, seq);
    }

    private JournalEntry? ReadEntry(string path, nint h)
    {
        int r = LibSystemdJournal.GetData(h, "MESSAGE", out nint data, out nuint len);
        if (r < 0 || LibSystemdJournal.GetRealtimeUsec(h, out ulong realtime) < 0 || LibSystemdJournal.GetMonotonicUsec(h, out ulong mono, out var boot) < 0)
        {
            // Every entry journald and journal-remote write has a MESSAGE: one that cannot be read is damage.
            _ctx.Source = path;
            _ctx.Warn(0, $"a damaged journal entry was skipped (its MESSAGE: {LibC.Describe(r < 0 ? -r : EBADMSG)})");
            return null;
        }
        string message = Value(data, len, "MESSAGE") ?? "";
        return new JournalEntry
        {
            BootId = boot.ToHex(),
            Time = FromUsec(realtime),
            Monotonic = TimeSpan.FromTicks((long)Math.Min(mono, long.MaxValue / 10) * 10),
            Message = message,
            Transport = Field(h, "_TRANSPORT"),
            Priority = Int(Field(h, "PRIORITY")),
            Facility = Int(Field(h, "SYSLOG_FACILITY")),
            Identifier = Field(h, "SYSLOG_IDENTIFIER"),
            SourceMonotonic = Long(Field(h, "_SOURCE_MONOTONIC_TIMESTAMP")) is long us ? TimeSpan.FromTicks(us * 10) : null,
            KernelSubsystem = Field(h, "_KERNEL_SUBSYSTEM"),
            KernelDevice = Field(h, "_KERNEL_DEVICE"),
            HostName = Field(h, "_HOSTNAME"),
            File = path,
        };
    }

    private static string? Field(nint h, string name) =>
        LibSystemdJournal.GetData(h, name, out nint data, out nuint len) >= 0 ? Value(data, len, name) : null;

    // get_data returns "FIELD=value" bytes.
    private static unsafe string? Value(nint data, nuint len, string name)
    {
        var span = new ReadOnlySpan<byte>((void*)data, (int)Math.Min(len, int.MaxValue));
        if (span.Length <= name.Length || span[name.Length] != (byte)'=') return null;
        return Encoding.UTF8.GetString(span[(name.Length + 1)..]);
    }

    private static int? Int(string? s) => int.TryParse(s, out int v) ? v : null;
    private static long? Long(string? s) => long.TryParse(s, out long v) && v >= 0 && v < long.MaxValue / 10 ? v : null;
    private static DateTimeOffset FromUsec(ulong usec) => DateTimeOffset.UnixEpoch.AddTicks((long)Math.Min(usec, 253402300799000000UL) * 10);

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var (_, h) in _files) LibSystemdJournal.Close(h);
        _files.Clear();
        foreach (var t in _temporary)
        {
            try { File.Delete(t); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        _temporary.Clear();
    }
}
