using KernelDebug.Core.Errors;
using KernelDebug.Core.Journal;
using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Kmsg;

/// <summary>What a file given as a kernel log holds.</summary>
public enum LogFileKind
{
    /// <summary>Text (or gzip-compressed text) in one of the formats <see cref="KernelLog.ReadFile"/> detects.</summary>
    Text,
    /// <summary>A systemd journal file, read through libsystemd.</summary>
    Journal,
    /// <summary>Binary data that is not a log (an image, a core dump, a compressed pstore record).</summary>
    Binary,
}

/// <summary>
/// One kernel log to read, whatever holds it: text log files (a pstore dump's parts together), a set of journal
/// files (one boot or all), or the journal under a root. The one place the log cmdlets' inputs become messages.
/// </summary>
public sealed class LogSource
{
    private readonly Func<ParseContext, CancellationToken, IEnumerable<KernelMessage>> _read;

    private LogSource(string name, bool hasLevels, Func<ParseContext, CancellationToken, IEnumerable<KernelMessage>> read, IReadOnlyList<string>? files = null)
    {
        Name = name;
        HasLevels = hasLevels;
        _read = read;
        TextFiles = files;
    }

    /// <summary>The files of a text log (one, or the parts of a pstore dump); null for a journal.</summary>
    public IReadOnlyList<string>? TextFiles { get; }

    /// <summary>The file, files or journal read (for warnings).</summary>
    public string Name { get; }

    /// <summary>False when the source's format may record no level (text logs); a journal always has them.</summary>
    public bool HasLevels { get; }

    /// <summary>The messages, in log order; parse warnings go to <paramref name="ctx"/>. Errors (missing, denied) are raised when enumeration starts.</summary>
    public IEnumerable<KernelMessage> Read(ParseContext ctx, CancellationToken ct = default) => _read(ctx, ct);

    /// <summary>A text log of one or more files (the parts of a pstore dump, from <see cref="KernelLog.GroupFiles"/>).</summary>
    public static LogSource Text(IReadOnlyList<string> group) =>
        new(group[0], false, (ctx, _) => KernelLog.ReadGroup(group, ctx), group);

    /// <summary>The kernel messages of a journal, of one boot (<c>-Boot</c> syntax) or of all boots.</summary>
    public static LogSource Journal(JournalLocation location, string? boot) =>
        new(location.Describe(), true, (ctx, ct) => JournalKernelLog.Read(location, boot, ctx, ct));

    /// <summary>How many bytes <see cref="Classify"/> looks at.</summary>
    public const int SniffBytes = 8192;

    /// <summary>
    /// Whether a file is text, a journal file or binary, from its first bytes (after gzip decompression): a journal
    /// starts with "LPKSHHRH"; NUL bytes or mostly control characters mean binary.
    /// </summary>
    public static LogFileKind Classify(string path)
    {
        if (JournalReader.HasJournalSignature(path)) return LogFileKind.Journal;
        char[] buffer = new char[SniffBytes];
        int n;
        try
        {
            using var r = KernelRoot.OpenTextFile(path);
            n = r.ReadBlock(buffer, 0, buffer.Length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            // Left to the reader, which raises the documented error for it.
            return LogFileKind.Text;
        }
        int control = 0;
        for (int i = 0; i < n; i++)
        {
            char c = buffer[i];
            if (c == '\0') return LogFileKind.Binary;
            if (c < ' ' && c is not ('\n' or '\r' or '\t' or '\x1b' or '\f' or '\b') || c == '\uFFFD') control++;
        }
        return n > 0 && control * 10 > n ? LogFileKind.Binary : LogFileKind.Text;
    }

    /// <summary>The warning for a binary file: it names the file and shows none of its bytes.</summary>
    public static string BinaryWarning(string path) =>
        $"{path}: not a kernel log (binary data); skipped. Compressed pstore records (*.enc.z) and vmcore files need their tools first (e.g. makedumpfile --dump-dmesg).";

    /// <summary>Throws when <c>-Boot</c> is used on text logs, which carry no boot id.</summary>
    public static KernelDebugException BootNeedsJournal(string path) =>
        new("BootNeedsJournal", KernelErrorCategory.InvalidArgument,
            $"-Boot selects a boot of a systemd journal, but '{path}' is a text log, which records no boot id.",
            "Leave out -Boot for text logs, or give journal files or a journal directory (/var/log/journal) with -Path.", path);
}
