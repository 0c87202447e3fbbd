using KernelDebug.Core.Kmsg;
using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Oops;

/// <summary>One log line as the oops parser sees it.</summary>
internal sealed class OopsLine
{
    public required KernelMessage Message;
    public required int LineNumber;
    /// <summary>Who printed it: <c>T123</c>/<c>C1</c> from a caller field, <c>console</c> for timestamped lines, "" for bare text.</summary>
    public required string Context;
    /// <summary>The text with an unreliable-frame marker removed.</summary>
    public required string Stripped;
    /// <summary>An unreliable frame (<c>? func+0x1/0x2</c>): not used to find titles.</summary>
    public bool Questionable;
    /// <summary>Computed once per line: the header it starts (suppressed lines excluded), whether that header may
    /// sit inside another report, whether the line looks like part of a report.</summary>
    public OopsHeader? Header;
    public bool Continues;
    public bool Structural;
    public string Text => Message.Text;

    /// <param name="m">The message.</param>
    /// <param name="lineNumber">Its line.</param>
    /// <param name="header">The header it starts, if any.</param>
    /// <param name="stamped">A console line whose timestamp came out damaged: printed by the console all the same.</param>
    public static OopsLine From(KernelMessage m, int lineNumber, OopsHeader? header, bool stamped = false)
    {
        var line = From(m, lineNumber, stamped);
        line.Header = header;
        line.Continues = header is not null && OopsFormats.ContinuesReport(line.Text);
        line.Structural = OopsAnalyzer.IsStructural(line.Text);
        return line;
    }

    private static OopsLine From(KernelMessage m, int lineNumber, bool stamped)
    {
        string ctx = m.ThreadId is { } t ? "T" + t : m.CpuId is { } c ? "C" + c : m.Uptime is not null || stamped ? "console" : "";
        string text = m.Text ?? "";
        string stripped = text;
        bool questionable = false;
        if (ctx.Length > 0 && !text.Contains("<EOI>", StringComparison.Ordinal))
        {
            int q = QuestionMark(text);
            if (q >= 0) { stripped = text[(q + 2)..]; questionable = true; }
            else if (text.EndsWith(" (unreliable)", StringComparison.Ordinal)) { stripped = text[..^13]; questionable = true; }
        }
        return new OopsLine { Message = m, LineNumber = lineNumber, Context = ctx, Stripped = stripped, Questionable = questionable };
    }

    // " ? " optionally after a [<pc>]: the unwinder's guess, not a real caller.
    private static int QuestionMark(string text)
    {
        int pos = text.IndexOf(" ? ", StringComparison.Ordinal);
        return pos;
    }
}

/// <summary>
/// Streaming crash-report finder: feed it messages one at a time; it hands back each report as soon as the
/// report ends (a new report in the same context, the end of a panic, a long quiet stretch, or the end of input).
/// Memory is bounded: at most <see cref="MaxOpenReports"/> reports of <see cref="MaxReportLines"/> lines are held.
/// </summary>
public sealed class OopsScanner
{
    /// <summary>A report longer than this is cut (and analysed) here.</summary>
    public const int MaxReportLines = 5000;
    /// <summary>Lines in a report's context without any report-like line after which it is considered over.</summary>
    public const int QuietLines = 1000;
    /// <summary>Lines a report is still followed after a later report began (enough to find its trace).</summary>
    public const int AfterSuperseded = 1000;
    /// <summary>Without caller info only the first lines after the next header can still belong to a report.</summary>
    public const int AfterSupersededShared = 120;
    /// <summary>Reports followed at once (one per printing context).</summary>
    public const int MaxOpenReports = 8;

    private readonly ParseContext? _ctx;
    private readonly List<OpenReport> _open = new();
    private int _index;

    /// <summary>Creates a scanner; problems (never exceptions) go to <paramref name="ctx"/>.</summary>
    public OopsScanner(ParseContext? ctx = null) => _ctx = ctx;

    private sealed class OpenReport
    {
        public required OopsHeader Header;
        public required string Context;
        public readonly List<OopsLine> Lines = new();
        public int Quiet;
        public int SupersededAt = -1;
    }

    /// <summary>Feeds one message; returns the reports that ended with it (usually none).</summary>
    public IReadOnlyList<KernelOops> Push(KernelMessage message)
    {
        _index++;
        if (message is null) return Array.Empty<KernelOops>();
        // A console prefix that came out damaged ("[ 1.2.3] RAX: ..."): the line is read without it, as the console
        // line it was, and a warning names it.
        var damaged = message.Uptime is null && message.Text is { Length: > 2 } raw && raw[0] is '[' or '<' &&
                      ConsolePrefix.TryParseDamaged(raw, out var dp)
            ? message with
            {
                Text = raw[dp.TextStart..], Uptime = dp.Uptime, Level = message.Level ?? dp.Level, Facility = message.Facility ?? dp.Facility,
                ThreadId = message.ThreadId ?? dp.ThreadId, CpuId = message.CpuId ?? dp.CpuId,
            }
            : null;
        // The common case, an ordinary message with no report open, costs one vectorised search.
        var header = OopsFormats.MatchHeader((damaged ?? message).Text ?? "");
        if (header is null && _open.Count == 0) return Array.Empty<KernelOops>();
        if (damaged is not null) _ctx?.Warn(message.LineNumber ?? _index, "malformed timestamp or level prefix", message.Text);
        var line = OopsLine.From(damaged ?? message, message.LineNumber ?? _index, header, stamped: damaged is not null);
        List<KernelOops>? done = null;
        if (header is not null && !(_open.Count > 0 && line.Continues))
        {
            // A later report does not end an open one at once: the open one still needs the lines after it
            // (its trace may come later, and with caller info its own lines go on between other reports).
            // It is marked superseded and closes a little later.
            foreach (var r in _open)
                if (r.SupersededAt < 0 && (IsShared(r.Context) || r.Context == line.Context)) r.SupersededAt = r.Lines.Count;
            foreach (var r in _open) Add(r, line, line.Structural);
            if (_open.Count >= MaxOpenReports) Close(0, ref done);
            var report = new OpenReport { Header = header, Context = line.Context };
            report.Lines.Add(line);
            _open.Add(report);
        }
        else if (_open.Count > 0)
        {
            foreach (var r in _open) Add(r, line, line.Structural);
            if (line.Text.Contains("---[ end Kernel panic", StringComparison.Ordinal))
                for (int i = _open.Count - 1; i >= 0; i--) Close(i, ref done);
        }
        for (int i = _open.Count - 1; i >= 0; i--)
        {
            var r = _open[i];
            if (r.Lines.Count >= MaxReportLines || r.Quiet >= QuietLines ||
                (r.SupersededAt >= 0 && r.Lines.Count - r.SupersededAt > (IsShared(r.Context) ? AfterSupersededShared : AfterSuperseded)))
                Close(i, ref done);
        }
        if (done is null) return Array.Empty<KernelOops>();
        done.Sort((a, b) => a.StartLine.CompareTo(b.StartLine));
        return done;
    }

    /// <summary>Ends the input: returns every report still open.</summary>
    public IReadOnlyList<KernelOops> Complete()
    {
        List<KernelOops>? done = null;
        for (int i = _open.Count - 1; i >= 0; i--) Close(i, ref done);
        if (done is null) return Array.Empty<KernelOops>();
        done.Sort((a, b) => a.StartLine.CompareTo(b.StartLine));
        return done;
    }

    private static bool IsShared(string context) => context.Length == 0 || context == "console";

    /// <summary>True while a report is open: every message matters then, not only header lines.</summary>
    public bool IsOpen => _open.Count > 0;

    private static void Add(OpenReport r, OopsLine line, bool structural)
    {
        r.Lines.Add(line);
        if (line.Context == r.Context || IsShared(r.Context))
            r.Quiet = structural ? 0 : r.Quiet + 1;
    }

    private void Close(int i, ref List<KernelOops>? done)
    {
        var r = _open[i];
        _open.RemoveAt(i);
        var oops = OopsAnalyzer.Analyze(r.Header, r.Context, r.Lines, _ctx);
        (done ??= new()).Add(oops);
    }
}

/// <summary>Finds, classifies and titles crash reports in kernel messages.</summary>
public static class KernelOopsParser
{
    /// <summary>
    /// Streams the reports in <paramref name="messages"/>, each yielded as soon as it ends. Never throws on
    /// odd input: a report that cannot be analysed comes out <see cref="KernelOops.Corrupted"/> and a warning goes to
    /// <paramref name="ctx"/>.
    /// </summary>
    public static IEnumerable<KernelOops> Parse(IEnumerable<KernelMessage> messages, ParseContext? ctx = null) => Run(new OopsScanner(ctx), messages);

    /// <summary>
    /// The reports of a log file, read as <see cref="Kmsg.KernelLog.ReadFile(string, ParseContext)"/> reads it, with the
    /// same results as <see cref="Parse"/> over those messages; faster: only lines near a report header become
    /// messages (a vectorised search for the headers' literals decides, every other line is skipped unparsed).
    /// </summary>
    /// <exception cref="Errors.KernelDebugException">The file is missing or unreadable (raised when enumeration starts).</exception>
    public static IEnumerable<KernelOops> ParseFile(string path, ParseContext ctx, CancellationToken ct = default)
    {
        var scanner = new OopsScanner(ctx);
        var messages = KernelLog.ReadFile(path, ctx, line => scanner.IsOpen || line.IndexOfAny(OopsFormats.AnyHeader) >= 0);
        return Run(scanner, ct.CanBeCanceled ? messages.TakeWhile(_ => !ct.IsCancellationRequested) : messages);
    }

    /// <summary>
    /// The reports of a log source: a one-file text log through <see cref="ParseFile"/>'s header prescan, anything
    /// else (a journal, a pstore dump's parts) through <see cref="Parse"/> over its messages.
    /// </summary>
    public static IEnumerable<KernelOops> Parse(LogSource source, ParseContext ctx, CancellationToken ct = default) =>
        source.TextFiles is [var file] ? ParseFile(file, ctx, ct)
        : Parse(ct.CanBeCanceled ? source.Read(ctx, ct).TakeWhile(_ => !ct.IsCancellationRequested) : source.Read(ctx, ct), ctx);

    private static IEnumerable<KernelOops> Run(OopsScanner scanner, IEnumerable<KernelMessage> messages)
    {
        foreach (var m in messages)
        {
            // Log readers join the unprefixed lines that follow a message (other writers on the console, or a
            // record's own extra lines) with '\n': the scanner works line by line, and a joined line carries no
            // prefix of its own, just as it stood in the log.
            if (m?.Text is { } text && text.Contains('\n'))
            {
                int i = 0;
                foreach (var part in text.Split('\n'))
                {
                    var line = i == 0 ? m with { Text = part }
                        : m with { Text = part, LineNumber = m.LineNumber + i, Uptime = null, Time = null, ThreadId = null, CpuId = null };
                    foreach (var o in scanner.Push(line))
                        yield return o;
                    i++;
                }
                continue;
            }
            foreach (var o in scanner.Push(m!))
                yield return o;
        }
        foreach (var o in scanner.Complete())
            yield return o;
    }
}
