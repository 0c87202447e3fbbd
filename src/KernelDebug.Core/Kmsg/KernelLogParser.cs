using System.Globalization;
using System.Text;
using System.Text.Json;
using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Kmsg;

/// <summary>
/// Turns the lines of a kernel log, in one <see cref="KernelLogFormat"/>, into <see cref="KernelMessage"/>s. Pure and
/// streaming: <see cref="Feed"/> takes one line and returns the message the line completed (formats that split one
/// record over several lines — kmsg continuation keys, multi-line messages in dmesg and journal output — finish a
/// message only when the next one starts), <see cref="Flush"/> returns the last one. Bad lines become warnings.
/// </summary>
public sealed class KernelLogParser
{
    /// <summary>Decides whether a log line is wanted (see <see cref="Wanted"/>).</summary>
    internal delegate bool LineFilter(ReadOnlySpan<char> line);

    private static readonly string[] Months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

    private readonly ParseContext _ctx;
    private readonly DateTimeOffset? _bootTime;
    private readonly DateTimeOffset _reference;
    private KernelMessage? _pending;
    private StringBuilder? _extra;
    private Dictionary<string, string>? _dict;
    private long _lastSequence = -1;

    /// <summary>Creates a parser for one input.</summary>
    /// <param name="format">The input's format (see <see cref="Detect"/>).</param>
    /// <param name="ctx">Where warnings go.</param>
    /// <param name="source">File or device name stored in each message.</param>
    /// <param name="bootTime">Boot time of the machine that wrote the log, to compute <see cref="KernelMessage.Time"/> from uptime; null when unknown.</param>
    /// <param name="referenceTime">For syslog lines without a year: the latest time the log can be from (the file's modification time).</param>
    public KernelLogParser(KernelLogFormat format, ParseContext ctx, string? source, DateTimeOffset? bootTime = null, DateTimeOffset? referenceTime = null)
    {
        Format = format;
        _ctx = ctx;
        Source = source;
        _bootTime = bootTime;
        _reference = referenceTime ?? DateTimeOffset.Now;
    }

    /// <summary>The format being parsed.</summary>
    public KernelLogFormat Format { get; }

    /// <summary>How the input was pasted (quote markers, indent, tabs, a foreign prefix), taken off each line; null for none.</summary>
    internal PasteShape? Shape { get; set; }

    /// <summary>File or device name stored in each message (changes between the parts of a pstore dump).</summary>
    public string? Source { get; set; }

    /// <summary>Parses a whole input (for tests and small texts; files go through <see cref="KernelLog.ReadFile"/>).</summary>
    public static IEnumerable<KernelMessage> Parse(TextReader reader, ParseContext ctx, string? source = null, KernelLogFormat? format = null,
        DateTimeOffset? bootTime = null, DateTimeOffset? referenceTime = null)
    {
        var lines = new LineReader(reader);
        var head = new List<string>();
        while (head.Count < DetectLines && lines.Next()) head.Add(lines.Line.ToString());
        var detected = Detect(head, out var shape);
        var parser = new KernelLogParser(format ?? detected, ctx, source, bootTime, referenceTime) { Shape = format is null ? shape : null };
        for (int i = 0; i < head.Count; i++)
            if (parser.Feed(head[i], i + 1) is { } m) yield return m;
        if (head.Count == DetectLines)
        {
            while (lines.Next())
            {
                var m = parser.Feed(lines.Line, lines.LineNumber);
                if (m is not null) yield return m;
            }
        }
        if (parser.Flush() is { } last) yield return last;
    }

    /// <summary>How many lines <see cref="Detect"/> looks at.</summary>
    public const int DetectLines = 40;

    /// <summary>Guesses the format of a log from its first lines: each line votes for the format it looks like.</summary>
    public static KernelLogFormat Detect(IReadOnlyList<string> lines) => Detect(lines, out _);

    /// <summary>
    /// As <see cref="Detect(IReadOnlyList{string})"/>, for a paste too: when taking a quote marker, an indent, tabs or
    /// another tool's prefix off the lines (<paramref name="shape"/>) lets more of them be read, that shape is used.
    /// </summary>
    internal static KernelLogFormat Detect(IReadOnlyList<string> lines, out PasteShape? shape)
    {
        // Quote markers, an indent and tabs are taken off whenever most lines carry them; another tool's prefix only
        // when most lines cannot be read as they stand and the cut lets more be read (syslog lines carry the kernel's
        // timestamp after their own prefix too: one syslog line with a damaged date must not make the whole file a
        // prefixed dmesg and lose every line's date; it is a malformed line, warned about).
        shape = PasteShape.Guess(lines);
        var format = Vote(lines, shape, out int known, out int nonEmpty);
        if (known * 2 <= nonEmpty && PasteShape.WithForeignPrefix(shape, lines) is { } prefixed)
        {
            var cut = Vote(lines, prefixed, out int knownCut, out _);
            if (knownCut > known)
            {
                shape = prefixed;
                return cut;
            }
        }
        return format;
    }

    private static KernelLogFormat Vote(IReadOnlyList<string> lines, PasteShape? shape, out int known, out int nonEmpty)
    {
        known = 0;
        nonEmpty = 0;
        Span<int> votes = stackalloc int[Enum.GetValues<KernelLogFormat>().Length];
        for (int i = 0; i < lines.Count; i++)
        {
            var line = shape is null ? lines[i].AsSpan() : shape.Apply(lines[i]);
            if (line.IsEmpty || line.StartsWith("-- ")) continue;
            nonEmpty++;
            if (i == 0 && PstoreHeader.TryParse(line, out _)) { known = nonEmpty = lines.Count; return KernelLogFormat.Pstore; }
            var c = Classify(line);
            if (c != KernelLogFormat.PlainText) known++;
            votes[(int)c]++;
        }
        int best = 0;
        for (int f = 1; f < votes.Length; f++)
            if (votes[f] > votes[best]) best = f;
        if (votes[best] == 0) return KernelLogFormat.PlainText;
        // A log whose lines mostly carry no prefix but some do is still a prefixed log with continuation lines.
        if (best == (int)KernelLogFormat.PlainText)
        {
            int second = -1;
            for (int f = 1; f < votes.Length; f++)
                if (votes[f] > 0 && (second < 0 || votes[f] > votes[second])) second = f;
            if (second > 0) return (KernelLogFormat)second;
        }
        return (KernelLogFormat)best;
    }

    private static KernelLogFormat Classify(ReadOnlySpan<char> line)
    {
        if (KmsgRecordParser.TryParseHeader(line, out _)) return KernelLogFormat.Kmsg;
        if (line[0] == '{') return KernelLogFormat.JournalJson;
        if (line.StartsWith("<") && line.IndexOf(">1 ") is > 1 and < 5) return KernelLogFormat.Rfc5424;
        if (line[0] == '[' && line.Length > 5 && char.IsAsciiLetterUpper(line[1]) && TryCtime(line, out _, out _)) return KernelLogFormat.DmesgCtime;
        if (TryDecodedPrefix(line, out _, out _, out _)) return KernelLogFormat.DmesgDecoded;
        if (TryIsoTimestamp(line, out _, out int isoEnd))
            return IsSyslogBody(line[isoEnd..]) ? KernelLogFormat.SyslogIso : KernelLogFormat.DmesgIso;
        if (TryBsdTimestamp(line, DateTimeOffset.Now, out _, out int bsdEnd) && IsSyslogBody(line[bsdEnd..])) return KernelLogFormat.Syslog;
        var p = ConsolePrefix.Parse(line);
        if (p.Uptime is not null && p.Level is null && IsSyslogBody(line[p.TextStart..])) return KernelLogFormat.JournalShortMonotonic;
        if (p.Uptime is not null || p.Level is not null) return KernelLogFormat.Dmesg;
        return KernelLogFormat.PlainText;
    }

    // " host kernel: ..." — the ident must be "kernel" to vote, so a dmesg text like "usb 1-1: new device" does not.
    private static bool IsSyslogBody(ReadOnlySpan<char> rest)
    {
        rest = rest.TrimStart(' ');
        int sp = rest.IndexOf(' ');
        if (sp <= 0) return false;
        return rest[(sp + 1)..].StartsWith("kernel:");
    }

    /// <summary>Takes one line (1-based <paramref name="lineNumber"/>) and returns the message it completed, if any.</summary>
    public KernelMessage? Feed(ReadOnlySpan<char> line, int lineNumber)
    {
        if (Shape is not null) line = Shape.Apply(line);
        switch (Format)
        {
            case KernelLogFormat.Kmsg: return FeedKmsg(line, lineNumber);
            case KernelLogFormat.JournalJson: return FeedJson(line, lineNumber);
            default: return FeedText(line, lineNumber);
        }
    }

    /// <summary>Warnings given per input before the rest are only counted (a binary file would otherwise print one per line).</summary>
    public const int MaxWarnings = 100;

    private int _warnings;
    private int _lastLine;

    private void Warn(int line, string message, ReadOnlySpan<char> text = default)
    {
        _lastLine = line;
        if (++_warnings <= MaxWarnings) _ctx.Warn(line, message, text);
    }

    /// <summary>Returns the message still being assembled at the end of the input.</summary>
    public KernelMessage? Flush()
    {
        if (_warnings > MaxWarnings)
        {
            _ctx.Warn(_lastLine, $"{_warnings - MaxWarnings} more malformed lines not shown (is this a kernel log?)");
            _warnings = MaxWarnings;
        }
        return TakePending();
    }

    /// <summary>
    /// Lines only some consumers need (the crash-report scanner needs the regions around report headers): when set and
    /// it returns false for a line that starts a message, the message is not built (dmesg-style formats only).
    /// </summary>
    internal LineFilter? Wanted { get; set; }

    private bool _skipped;
    private char[] _skippedLine = new char[256];
    private int _skippedLength, _skippedNumber;

    // True when the line belongs to a message that is not built. A wanted later line of a skipped message builds it.
    private bool SkipOrRestore(ReadOnlySpan<char> line, int n, bool starts)
    {
        bool loose = !starts && !LooksLikeBrokenPrefix(line) && !(Format == KernelLogFormat.Pstore && PstoreHeader.TryParse(line, out _));
        if (_pending is null && !Wanted!(line))
        {
            if (starts) { Skip(line, n, first: true); return true; }
            if (!loose) return false;
            if (!PasteNoise.IsForeign(line)) Skip(line, n, first: !_skipped);
            return true;
        }
        if (!_skipped) return false;
        _skipped = false;
        if (loose && !PasteNoise.IsForeign(line))
        {
            // Feed the skipped lines again (the first starts the message, the rest continue it) as if never skipped.
            var wanted = Wanted;
            Wanted = null;
            try
            {
                var rest = _skippedLine.AsSpan(0, _skippedLength);
                int nl = rest.IndexOf('\n');
                FeedText(nl < 0 ? rest : rest[..nl], _skippedNumber);
                while (nl >= 0)
                {
                    rest = rest[(nl + 1)..];
                    nl = rest.IndexOf('\n');
                    FeedText(nl < 0 ? rest : rest[..nl], _skippedNumber);
                }
            }
            finally { Wanted = wanted; }
        }
        return false;
    }

    // Keeps a skipped message's lines (its first, then its continuation lines, '\n'-separated) in one reused buffer.
    private void Skip(ReadOnlySpan<char> line, int n, bool first)
    {
        int at = first ? 0 : _skippedLength + 1;
        if (_skippedLine.Length < at + line.Length) Array.Resize(ref _skippedLine, (at + line.Length) * 2);
        if (!first) _skippedLine[at - 1] = '\n';
        line.CopyTo(_skippedLine.AsSpan(at));
        _skippedLength = at + line.Length;
        if (first) _skippedNumber = n;
        _skipped = true;
    }

    private KernelMessage? TakePending()
    {
        var m = _pending;
        _pending = null;
        if (m is null) return null;
        if (_extra is { Length: > 0 }) { m = m with { Text = m.Text + _extra.ToString() }; _extra.Clear(); }
        if (_dict is not null) { m = KmsgRecordParser.WithProperties(m, _dict); _dict = null; }
        return m;
    }

    private KernelMessage? Start(KernelMessage m)
    {
        var done = TakePending();
        _pending = m;
        return done;
    }

    private void Continue(ReadOnlySpan<char> text)
    {
        (_extra ??= new StringBuilder()).Append('\n').Append(text);
    }

    private KernelMessage? FeedKmsg(ReadOnlySpan<char> line, int n)
    {
        if (line.IsEmpty) return null;
        if (KmsgRecordParser.TryParseHeader(line, out var h))
        {
            var m = KmsgRecordParser.Create(h, line, _bootTime, Source, n);
            if (_lastSequence >= 0 && h.Sequence > _lastSequence + 1)
            {
                long lost = h.Sequence - _lastSequence - 1;
                Warn(n, $"{lost} record(s) missing before sequence {h.Sequence}");
                m = m with { LostMessages = lost };
            }
            _lastSequence = h.Sequence;
            return Start(m);
        }
        if (line[0] == ' ' && _pending is not null && KmsgRecordParser.TryParseContinuation(line, out var key, out var value))
        {
            (_dict ??= new Dictionary<string, string>(StringComparer.Ordinal))[key] = value;
            return null;
        }
        Warn(n, "not a /dev/kmsg record", line);
        return null;
    }

    private KernelMessage? FeedText(ReadOnlySpan<char> line, int n)
    {
        if (line.IsEmpty) return null;
        if (HasControl(line))
        {
            Warn(n, "binary data in a text log", line);
            return null;
        }
        switch (Format)
        {
            case KernelLogFormat.Dmesg:
            case KernelLogFormat.Pstore:
            {
                var p = ConsolePrefix.Parse(line);
                bool starts = p.Uptime is not null || p.Level is not null;
                if (Wanted is not null && SkipOrRestore(line, n, starts)) return null;
                if (starts) return Start(FromPrefix(p, line, n, null));
                if (Format == KernelLogFormat.Pstore && PstoreHeader.TryParse(line, out _)) return null;
                if (LooksLikeBrokenPrefix(line))
                {
                    Warn(n, "malformed timestamp or level prefix", line);
                    return null;
                }
                return Loose(line, n);
            }
            case KernelLogFormat.DmesgDecoded:
                if (TryDecodedPrefix(line, out var dfac, out var dlev, out int dEnd))
                {
                    var p = ConsolePrefix.Parse(line[dEnd..]);
                    var m = FromPrefix(p, line[dEnd..], n, null) with { Level = dlev, Facility = dfac };
                    return Start(m);
                }
                return Loose(line, n);
            case KernelLogFormat.DmesgCtime:
                if (line[0] == '[' && TryCtime(line, out var ct, out int ctEnd))
                    return Start(Message(line[ctEnd..], n, ct, null));
                return LooseOrWarn(line, n, line[0] == '[');
            case KernelLogFormat.DmesgIso:
                if (TryIsoTimestamp(line, out var iso, out int isoEnd))
                    return Start(Message(line[isoEnd..].TrimStart(' '), n, iso, null));
                return LooseOrWarn(line, n, char.IsAsciiDigit(line[0]));
            case KernelLogFormat.Syslog:
                if (TryBsdTimestamp(line, _reference, out var bsd, out int bsdEnd))
                    return Syslog(line[bsdEnd..], n, bsd, null, null);
                return SyslogOther(line, n);
            case KernelLogFormat.SyslogIso:
                if (TryIsoTimestamp(line, out var siso, out int sisoEnd))
                    return Syslog(line[sisoEnd..], n, siso, null, null);
                return SyslogOther(line, n);
            case KernelLogFormat.JournalShortMonotonic:
            {
                if (line[0] == '[')
                {
                    var p = ConsolePrefix.Parse(line);
                    if (p.Uptime is not null) return Syslog(line[p.TextStart..], n, null, p.Uptime, null);
                }
                return SyslogOther(line, n);
            }
            case KernelLogFormat.Rfc5424:
                return Rfc5424(line, n);
            default:
                return PasteNoise.IsForeign(line) ? null : Start(Message(line, n, null, null));
        }
    }

    private KernelMessage FromPrefix(in ConsolePrefix p, ReadOnlySpan<char> line, int n, DateTimeOffset? time) => new()
    {
        Uptime = p.Uptime,
        Time = time ?? Fields.AddOrNull(_bootTime, p.Uptime),
        Level = p.Level,
        Facility = p.Facility,
        ThreadId = p.ThreadId,
        CpuId = p.CpuId,
        Text = line[p.TextStart..].ToString(),
        Source = Source,
        LineNumber = n,
    };

    private KernelMessage Message(ReadOnlySpan<char> text, int n, DateTimeOffset? time, TimeSpan? uptime) => new()
    {
        Uptime = uptime,
        Time = time ?? Fields.AddOrNull(_bootTime, uptime),
        Text = text.ToString(),
        Source = Source,
        LineNumber = n,
    };

    // A line without a prefix in a prefixed log continues the message before it (dmesg prints the later lines of a
    // multi-line message bare); at the top of a file it stands alone.
    private KernelMessage? Loose(ReadOnlySpan<char> line, int n)
    {
        if (PasteNoise.IsForeign(line)) return null;
        if (_pending is not null) { Continue(line); return null; }
        return Start(Message(line, n, null, null));
    }

    private KernelMessage? LooseOrWarn(ReadOnlySpan<char> line, int n, bool looksLikePrefix)
    {
        if (looksLikePrefix)
        {
            Warn(n, "malformed timestamp", line);
            return null;
        }
        return Loose(line, n);
    }

    // Journal output indents the later lines of a multi-line message; "-- Boot ... --" lines are markers.
    private KernelMessage? SyslogOther(ReadOnlySpan<char> line, int n)
    {
        if (line.StartsWith("-- ")) return null;
        if ((line[0] == ' ' || line[0] == '\t') && _pending is not null)
        {
            if (!PasteNoise.IsForeign(line)) Continue(line.Trim());
            return null;
        }
        // A kernel line pasted without the date and host its neighbours have is still a message.
        var p = ConsolePrefix.Parse(line);
        if (p.Uptime is not null) return Start(FromPrefix(p, line, n, null));
        if (PasteNoise.IsForeign(line)) return null;
        Warn(n, "not a syslog line", line);
        return null;
    }

    // " host ident[pid]: [  12.345678] text" after the timestamp.
    private KernelMessage? Syslog(ReadOnlySpan<char> rest, int n, DateTimeOffset? time, TimeSpan? uptime, int? pri)
    {
        rest = rest.TrimStart(' ');
        int sp = rest.IndexOf(' ');
        if (sp <= 0)
        {
            Warn(n, "syslog line without host and tag", rest);
            return null;
        }
        var afterHost = rest[(sp + 1)..];
        int colon = afterHost.IndexOf(": ");
        ReadOnlySpan<char> body;
        if (colon > 0 && afterHost[..colon].IndexOf(' ') < 0)
        {
            // Exports of the whole journal and pasted syslog carry user space's lines too: not kernel messages.
            if (!PasteNoise.IsKernelIdent(afterHost[..colon])) return null;
            body = afterHost[(colon + 2)..];
        }
        else if (afterHost.EndsWith(":") && afterHost.IndexOf(' ') < 0) body = default;
        else
        {
            Warn(n, "syslog line without a tag", rest);
            return null;
        }
        return Body(body, n, time, uptime, pri);
    }

    private KernelMessage? Body(ReadOnlySpan<char> body, int n, DateTimeOffset? time, TimeSpan? uptime, int? pri)
    {
        var p = ConsolePrefix.Parse(body);
        return Start(new KernelMessage
        {
            Uptime = p.Uptime ?? uptime,
            Time = time ?? Fields.AddOrNull(_bootTime, p.Uptime ?? uptime),
            Level = pri is int v ? (KernelLogLevel)(v & 7) : p.Level,
            Facility = pri is int f ? (KernelLogFacility)(f >> 3) : p.Facility,
            ThreadId = p.ThreadId,
            CpuId = p.CpuId,
            Text = body[p.TextStart..].ToString(),
            Source = Source,
            LineNumber = n,
        });
    }

    // <pri>1 TIMESTAMP HOST APP PROCID MSGID [SD...]|- MSG
    private KernelMessage? Rfc5424(ReadOnlySpan<char> line, int n)
    {
        int close = line.IndexOf('>');
        if (line[0] != '<' || close < 2 || close > 4 || !int.TryParse(line[1..close], NumberStyles.None, CultureInfo.InvariantCulture, out int pri) ||
            !line[(close + 1)..].StartsWith("1 "))
        {
            if (line[0] == '<') { Warn(n, "malformed RFC 5424 header", line); return null; }
            return SyslogOther(line, n);
        }
        var rest = line[(close + 3)..];
        int at = 0;
        var ts = NextField(rest, ref at);
        NextField(rest, ref at); // HOSTNAME
        var app = NextField(rest, ref at);
        NextField(rest, ref at); // PROCID
        NextField(rest, ref at); // MSGID
        if (!app.IsEmpty && app is not "-" && !PasteNoise.IsKernelIdent(app)) return null;
        if (!TryParseIso(ts, out var time))
        {
            Warn(n, "malformed RFC 5424 header", line);
            return null;
        }
        var sd = rest[at..].TrimStart(' ');
        if (sd.StartsWith("-")) sd = sd[1..];
        else
        {
            while (sd.StartsWith("["))
            {
                int end = 1;
                while (end < sd.Length && sd[end] != ']') end += sd[end] == '\\' ? 2 : 1;
                sd = end < sd.Length ? sd[(end + 1)..] : default;
            }
        }
        if (sd.StartsWith(" ")) sd = sd[1..];
        if (sd.StartsWith("\uFEFF")) sd = sd[1..];
        return Body(sd, n, time, null, pri);
    }

    private static ReadOnlySpan<char> NextField(ReadOnlySpan<char> s, ref int i)
    {
        while (i < s.Length && s[i] == ' ') i++;
        int start = i;
        while (i < s.Length && s[i] != ' ') i++;
        return s[start..i];
    }

    private KernelMessage? FeedJson(ReadOnlySpan<char> line, int n)
    {
        var t = line.Trim();
        if (t.IsEmpty) return null;
        try
        {
            using var doc = JsonDocument.Parse(t.ToString());
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                Warn(n, "not a journal JSON object", line);
                return null;
            }
            // An export of the whole journal: user space's entries are not kernel messages.
            if (Str(root, "_TRANSPORT") is { } transport && transport != "kernel") return null;
            string? text = Str(root, "MESSAGE");
            if (text is null)
            {
                Warn(n, "journal entry without MESSAGE", line);
                return null;
            }
            long? realtime = Num(root, "__REALTIME_TIMESTAMP");
            long? mono = Num(root, "_SOURCE_MONOTONIC_TIMESTAMP") ?? Num(root, "__MONOTONIC_TIMESTAMP");
            long? prio = Num(root, "PRIORITY");
            long? fac = Num(root, "SYSLOG_FACILITY");
            TimeSpan? uptime = mono is long us && Fields.TryMicroseconds(us, out var up) && up >= TimeSpan.Zero ? up : null;
            if (mono is not null && uptime is null) Warn(n, "monotonic timestamp is past the range of a duration", line);
            DateTimeOffset? time = Fields.AddOrNull(_bootTime, uptime);
            if (realtime is long rt)
            {
                if (Fields.TryUnixMicroseconds(rt, out var wall)) time = wall;
                else { time = null; Warn(n, "realtime timestamp is outside the calendar", line); }
            }
            var m = new KernelMessage
            {
                Uptime = uptime,
                Time = time,
                Level = prio is >= 0 and <= 7 ? (KernelLogLevel)prio.Value : null,
                Facility = fac is >= 0 and < 32 ? (KernelLogFacility)fac.Value : null,
                Text = text,
                Subsystem = Str(root, "_KERNEL_SUBSYSTEM"),
                Device = Str(root, "_KERNEL_DEVICE"),
                Source = Source,
                LineNumber = n,
            };
            return Start(m);
        }
        catch (JsonException)
        {
            Warn(n, "not valid JSON", line);
            return null;
        }

        // journald writes non-UTF-8 or binary fields as an array of byte values.
        string? Str(JsonElement o, string name)
        {
            if (!o.TryGetProperty(name, out var v)) return null;
            switch (v.ValueKind)
            {
                case JsonValueKind.String: return v.GetString();
                case JsonValueKind.Array:
                    var bytes = new List<byte>();
                    foreach (var b in v.EnumerateArray())
                        if (b.ValueKind == JsonValueKind.Number && b.TryGetByte(out byte x)) bytes.Add(x);
                        else Warn(n, $"{name} holds a value that is not a byte");
                    return Encoding.UTF8.GetString(bytes.ToArray());
                case JsonValueKind.Number: return v.GetRawText();
                default: return null;
            }
        }

        long? Num(JsonElement o, string name)
        {
            if (!o.TryGetProperty(name, out var v)) return null;
            if (v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long l)) return l;
            if (v.ValueKind == JsonValueKind.String && Fields.TryLong(v.GetString(), out long s)) return s;
            Warn(n, $"{name} is not a number that fits");
            return null;
        }
    }

    // C0 control characters except tab: binary data, never in a text log line.
    private static readonly System.Buffers.SearchValues<char> Controls = System.Buffers.SearchValues.Create(
        "\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000a\u000b\u000c\u000d\u000e\u000f" +
        "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f");

    private static bool HasControl(ReadOnlySpan<char> line) => line.ContainsAny(Controls);

    // "[ 12.x3]" or "<x>": a prefix was meant but is damaged.
    private static bool LooksLikeBrokenPrefix(ReadOnlySpan<char> line)
    {
        if (line[0] == '<') return line.Length > 1 && char.IsAsciiDigit(line[1]);
        if (line[0] != '[') return false;
        var t = line[1..].TrimStart(' ');
        return !t.IsEmpty && char.IsAsciiDigit(t[0]) && t.IndexOf(']') is int close and > 0 && t[..close].Contains('.');
    }

    private static readonly string[] FacilityNames = ["kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp", "", "", "", "",
        "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"];
    private static readonly string[] LevelNames = ["emerg", "alert", "crit", "err", "warn", "notice", "info", "debug"];

    // "kern  :notice: " (dmesg -x): facility padded to 6, level padded to 6.
    private static bool TryDecodedPrefix(ReadOnlySpan<char> line, out KernelLogFacility facility, out KernelLogLevel level, out int end)
    {
        facility = default;
        level = default;
        end = 0;
        int c1 = line.IndexOf(':');
        if (c1 <= 0 || c1 > 9) return false;
        int c2 = line[(c1 + 1)..].IndexOf(':');
        if (c2 <= 0 || c2 > 7) return false;
        c2 += c1 + 1;
        int f = Array.IndexOf(FacilityNames, line[..c1].TrimEnd(' ').ToString());
        int l = Array.IndexOf(LevelNames, line[(c1 + 1)..c2].TrimEnd(' ').ToString());
        if (f < 0 || l < 0 || FacilityNames[f].Length == 0) return false;
        facility = (KernelLogFacility)f;
        level = (KernelLogLevel)l;
        end = c2 + 1 < line.Length && line[c2 + 1] == ' ' ? c2 + 2 : c2 + 1;
        return true;
    }

    // "[Fri Nov 27 07:52:28 2026] " (dmesg -T, local time)
    private static bool TryCtime(ReadOnlySpan<char> line, out DateTimeOffset time, out int textStart)
    {
        time = default;
        textStart = 0;
        int close = line.IndexOf(']');
        if (close < 20 || close > 40) return false;
        var inner = line[1..close];
        if (!DateTime.TryParseExact(inner, "ddd MMM d HH:mm:ss yyyy", CultureInfo.InvariantCulture,
                DateTimeStyles.AllowInnerWhite | DateTimeStyles.AssumeLocal, out var dt)) return false;
        time = new DateTimeOffset(dt);
        textStart = close + 1 < line.Length && line[close + 1] == ' ' ? close + 2 : close + 1;
        return true;
    }

    // "2026-11-27T07:52:28,123456+00:00" / "2026-11-27T07:52:28.123+0000" up to the first blank.
    private static bool TryIsoTimestamp(ReadOnlySpan<char> line, out DateTimeOffset time, out int end)
    {
        time = default;
        end = 0;
        if (line.Length < 19 || line[4] != '-' || line[10] != 'T' || !char.IsAsciiDigit(line[0])) return false;
        int sp = line.IndexOf(' ');
        var token = sp < 0 ? line : line[..sp];
        if (!TryParseIso(token, out time)) return false;
        end = sp < 0 ? line.Length : sp;
        return true;
    }

    private static bool TryParseIso(ReadOnlySpan<char> token, out DateTimeOffset time)
    {
        Span<char> buf = stackalloc char[40];
        time = default;
        if (token.Length < 19 || token.Length > 34) return false;
        token.CopyTo(buf);
        var s = buf[..token.Length];
        if (s.Length > 19 && s[19] == ',') s[19] = '.';
        // "+0000" → "+00:00"
        if (s.Length >= 24 && (s[^5] == '+' || s[^5] == '-') && char.IsAsciiDigit(s[^1]) && s[^3] != ':')
        {
            int len = s.Length;
            buf[len] = buf[len - 1];
            buf[len - 1] = buf[len - 2];
            buf[len - 2] = ':';
            s = buf[..(len + 1)];
        }
        return DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal, out time);
    }

    // "Nov 27 07:52:28" or "Nov  7 07:52:28.123456"; the year is the latest that keeps the time not after the reference.
    private static bool TryBsdTimestamp(ReadOnlySpan<char> line, DateTimeOffset reference, out DateTimeOffset time, out int end)
    {
        time = default;
        end = 0;
        if (line.Length < 16 || line[3] != ' ') return false;
        int month = Array.IndexOf(Months, line[..3].ToString());
        if (month < 0) return false;
        int i = 4;
        if (line[i] == ' ') i++;
        int day = 0;
        while (i < line.Length && char.IsAsciiDigit(line[i])) day = day * 10 + (line[i++] - '0');
        if (day is < 1 or > 31 || i + 9 > line.Length || line[i] != ' ') return false;
        i++;
        var hms = line.Slice(i, 8);
        if (hms[2] != ':' || hms[5] != ':' ||
            !int.TryParse(hms[..2], NumberStyles.None, CultureInfo.InvariantCulture, out int hh) ||
            !int.TryParse(hms[3..5], NumberStyles.None, CultureInfo.InvariantCulture, out int mm) ||
            !int.TryParse(hms[6..8], NumberStyles.None, CultureInfo.InvariantCulture, out int ss) || hh > 23 || mm > 59 || ss > 60) return false;
        i += 8;
        long fracTicks = 0;
        if (i < line.Length && line[i] == '.')
        {
            int k = i + 1, digits = 0;
            while (k < line.Length && char.IsAsciiDigit(line[k]))
            {
                if (digits < 7) { fracTicks = fracTicks * 10 + (line[k] - '0'); digits++; }
                k++;
            }
            while (digits++ < 7) fracTicks *= 10;
            i = k;
        }
        if (i < line.Length && line[i] != ' ') return false;
        int year = reference.Year;
        for (int attempt = 0; attempt < 2; attempt++, year--)
        {
            if (day > DateTime.DaysInMonth(year, month + 1)) continue;
            var local = new DateTime(year, month + 1, day, hh, mm, Math.Min(ss, 59), DateTimeKind.Local).AddTicks(fracTicks);
            var t = new DateTimeOffset(local);
            if (t <= reference.AddDays(1) || attempt == 1)
            {
                time = t;
                end = i;
                return true;
            }
        }
        return false;
    }
}
