using KernelDebug.Core.Errors;
using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Tracing;

/// <summary>
/// The events a tracefs offers (<c>available_events</c>) and their formats (<c>events/&lt;system&gt;/&lt;event&gt;/format</c>),
/// loaded lazily and cached, plus the ring-buffer layout from <c>events/header_page</c> and <c>header_event</c>.
/// Reads through a <see cref="KernelRoot"/>, so a fixture tree works as well as the live tracefs.
/// </summary>
public sealed class TraceEventCatalog
{
    private readonly KernelRoot _root;
    private readonly string _tracefs;
    private readonly Dictionary<string, TraceEventFormat?> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<int, TraceEventFormat> _byId = new();
    private readonly object _gate = new();
    private IReadOnlyList<string>? _available;
    private RingBufferLayout? _layout;
    private bool _scannedAll;

    /// <summary>A catalog over tracefs at <paramref name="tracefsRelative"/> below <paramref name="root"/>.</summary>
    public TraceEventCatalog(KernelRoot root, string tracefsRelative, ParseContext ctx)
    {
        _root = root;
        _tracefs = tracefsRelative.TrimEnd('/');
        Context = ctx;
    }

    /// <summary>A catalog over a located tracefs.</summary>
    public TraceEventCatalog(TraceFs fs, ParseContext ctx) : this(fs.Root, fs.RelativePath, ctx) { }

    /// <summary>Where format problems are reported.</summary>
    public ParseContext Context { get; }

    /// <summary>Every <c>system:event</c> the kernel lists, sorted.</summary>
    public IReadOnlyList<string> AvailableEvents
    {
        get
        {
            if (_available is not null) return _available;
            string? text = _root.TryReadText(_tracefs + "/available_events");
            var list = new List<string>();
            if (text is not null)
                foreach (var line in text.AsSpan().EnumerateLines())
                {
                    var t = line.Trim();
                    if (t.IndexOf(':') > 0) list.Add(t.ToString());
                }
            else
            {
                // A fixture may hold only events/<system>/<event>/format.
                foreach (var sys in _root.EnumerateEntries(_tracefs + "/events"))
                    foreach (var ev in _root.EnumerateEntries($"{_tracefs}/events/{sys}"))
                        if (_root.Exists($"{_tracefs}/events/{sys}/{ev}/format")) list.Add(sys + ":" + ev);
            }
            list.Sort(StringComparer.Ordinal);
            return _available = list;
        }
    }

    /// <summary>The ring-buffer layout (defaults when header_page is unreadable).</summary>
    public RingBufferLayout Layout => _layout ??= RingBufferLayout.Parse(
        _root.TryReadText(_tracefs + "/events/header_page") ?? "", _root.TryReadText(_tracefs + "/events/header_event") ?? "",
        new ParseContext(_root.Resolve(_tracefs + "/events/header_page")));

    /// <summary>The events whose <c>system:event</c> matches a pattern. Wildcards <c>*</c> and <c>?</c> work in both
    /// parts; a pattern without a colon matches an event name or a whole system (<c>sched</c>, <c>sys_enter</c>).</summary>
    public IReadOnlyList<string> Match(string pattern)
    {
        pattern = pattern.Trim();
        int colon = pattern.IndexOf(':');
        var result = new List<string>();
        foreach (var full in AvailableEvents)
        {
            int c = full.IndexOf(':');
            string sys = full[..c], ev = full[(c + 1)..];
            bool hit = colon >= 0
                ? Glob.IsMatch(sys, pattern.AsSpan(0, colon)) && Glob.IsMatch(ev, pattern.AsSpan(colon + 1))
                : Glob.IsMatch(ev, pattern) || Glob.IsMatch(sys, pattern);
            if (hit) result.Add(full);
        }
        return result;
    }

    /// <summary>The format of <c>system:event</c>, or null when it has none or it does not parse.</summary>
    public TraceEventFormat? Get(string fullName)
    {
        lock (_gate)
        {
            if (_byName.TryGetValue(fullName, out var f)) return f;
            int c = fullName.IndexOf(':');
            if (c <= 0) return null;
            string sys = fullName[..c], ev = fullName[(c + 1)..];
            string rel = $"{_tracefs}/events/{sys}/{ev}/format";
            string? text = _root.TryReadText(rel, 1 << 20);
            f = null;
            if (text is not null)
            {
                var ctx = new ParseContext(_root.Resolve(rel));
                f = TraceEventFormatParser.Parse(text, sys, ctx, Layout.LongSize);
                foreach (var i in ctx.Issues) Context.Warn(i.LineNumber, $"{i.Source}: {i.Message}", i.Text);
            }
            _byName[fullName] = f;
            if (f is not null) _byId[f.Id] = f;
            return f;
        }
    }

    /// <summary>Registers a format (e.g. one read from a trace-cmd file or built by a test).</summary>
    public void Add(TraceEventFormat format)
    {
        lock (_gate)
        {
            _byName[format.FullName] = format;
            _byId[format.Id] = format;
        }
    }

    /// <summary>The format of an event id; on a miss every format file is read once to find it.</summary>
    public TraceEventFormat? ById(int id)
    {
        lock (_gate)
        {
            if (_byId.TryGetValue(id, out var f)) return f;
            if (_scannedAll) return null;
            _scannedAll = true;
        }
        foreach (var name in AvailableEvents) Get(name);
        // ftrace's own records (function, print, ...) are not in available_events.
        foreach (var ev in _root.EnumerateEntries(_tracefs + "/events/ftrace")) Get("ftrace:" + ev);
        lock (_gate) return _byId.GetValueOrDefault(id);
    }

    /// <summary>The format of <c>system:event</c>, or a not-found error naming the event.</summary>
    public TraceEventFormat Require(string fullName) =>
        Get(fullName) ?? throw new KernelDebugException("TracepointNotFound", KernelErrorCategory.ObjectNotFound,
            $"The tracepoint '{fullName}' has no readable format file.", "List the kernel's tracepoints with Get-KernelTracepoint.", fullName);
}

/// <summary>Shell-style wildcard matching (<c>*</c>, <c>?</c>), ordinal, for names the kernel lists.</summary>
internal static class Glob
{
    public static bool IsMatch(ReadOnlySpan<char> text, ReadOnlySpan<char> pattern)
    {
        int t = 0, p = 0, star = -1, mark = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == text[t])) { t++; p++; }
            else if (p < pattern.Length && pattern[p] == '*') { star = p++; mark = t; }
            else if (star >= 0) { p = star + 1; t = ++mark; }
            else return false;
        }
        while (p < pattern.Length && pattern[p] == '*') p++;
        return p == pattern.Length;
    }

    public static bool HasWildcard(string s) => s.AsSpan().IndexOfAny('*', '?') >= 0;
}

/// <summary>Parses <c>saved_cmdlines</c> ("pid comm" per line).</summary>
public static class SavedCmdlinesParser
{
    /// <summary>pid → command.</summary>
    public static Dictionary<int, string> Parse(ReadOnlySpan<char> text, ParseContext ctx)
    {
        var map = new Dictionary<int, string>();
        int n = 0;
        foreach (var line in text.EnumerateLines())
        {
            n++;
            if (line.IsWhiteSpace()) continue;
            int sp = line.IndexOf(' ');
            if (sp <= 0 || !int.TryParse(line[..sp], out int pid)) { ctx.Warn(n, "expected 'pid command'", line); continue; }
            map[pid] = line[(sp + 1)..].ToString();
        }
        return map;
    }
}

/// <summary>A CPU buffer's counters from <c>per_cpu/cpuN/stats</c>.</summary>
/// <param name="Cpu">CPU number.</param>
/// <param name="Entries">Events in the buffer.</param>
/// <param name="Overrun">Events overwritten before they were read (overwrite mode).</param>
/// <param name="CommitOverrun">Events lost because the buffer wrapped while a writer was nested.</param>
/// <param name="Bytes">Bytes in the buffer.</param>
/// <param name="DroppedEvents">Events refused because the buffer was full (non-overwrite mode).</param>
/// <param name="ReadEvents">Events consumed by readers.</param>
public sealed record TraceBufferStats(int Cpu, long Entries, long Overrun, long CommitOverrun, long Bytes, long DroppedEvents, long ReadEvents)
{
    /// <summary>Events the buffer lost: overruns, commit overruns and drops.</summary>
    public long Lost => Overrun + CommitOverrun + DroppedEvents;

    /// <summary>Parses a stats file ("entries: 12" lines); unknown keys are skipped.</summary>
    public static TraceBufferStats Parse(int cpu, ReadOnlySpan<char> text, ParseContext ctx)
    {
        long entries = 0, overrun = 0, commit = 0, bytes = 0, dropped = 0, read = 0;
        int n = 0;
        foreach (var line in text.EnumerateLines())
        {
            n++;
            if (line.IsWhiteSpace()) continue;
            int c = line.IndexOf(':');
            if (c < 0) { ctx.Warn(n, "expected 'key: value'", line); continue; }
            var key = line[..c].Trim();
            var val = line[(c + 1)..].Trim();
            if (key.EndsWith(" ts")) continue; // "oldest event ts: 12.3"
            if (!Fields.TryLong(val, out long v)) { ctx.Warn(n, "value is not a number", line); continue; }
            switch (key)
            {
                case "entries": entries = v; break;
                case "overrun": overrun = v; break;
                case "commit overrun": commit = v; break;
                case "bytes": bytes = v; break;
                case "dropped events": dropped = v; break;
                case "read events": read = v; break;
            }
        }
        return new TraceBufferStats(cpu, entries, overrun, commit, bytes, dropped, read);
    }
}
