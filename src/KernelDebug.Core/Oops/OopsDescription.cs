using System.Text;
using System.Text.RegularExpressions;

namespace KernelDebug.Core.Oops;

/// <summary>A frame picked from a report: the name used in titles and the name as printed.</summary>
internal readonly record struct PickedFrame(string Canonical, string Raw);

/// <summary>Title, alternative titles and guilty frames of one report text, from the format table.</summary>
internal sealed class OopsDescription
{
    public string Title = "";
    public string? CorruptedReason;
    public List<string> AltTitles = new();
    public OopsFormat? Format;
    public List<PickedFrame> Frames = new();

    public const string NoFrames = "extracted no frames";

    /// <summary>Runs every format of the header over the report; the one whose title matches earliest wins.</summary>
    public static OopsDescription Describe(string text, OopsHeader header)
    {
        var d = new OopsDescription();
        int startPos = text.Length;
        bool matchedTitle = false;
        foreach (var f in header.Formats)
        {
            var m = f.TitleRe.Match(text);
            if (!m.Success || m.Index > startPos) continue;
            if (m.Index == startPos && d.Title.Length > 0) continue;
            if (m.Index < startPos)
            {
                d.Title = "";
                d.Format = null;
                startPos = m.Index;
            }
            matchedTitle = true;
            if (f.ReportRe is not null)
            {
                m = f.ReportRe.Match(text);
                if (!m.Success) continue;
            }
            var frames = new List<PickedFrame>();
            d.CorruptedReason = null;
            var used = f;
            if (f.Stack is not null)
            {
                string rest = text.AsSpan(m.Index).ToString();
                frames = ExtractFrames(f.Stack, rest, out bool ok);
                if (!ok && f.Cut is { Stack: { } cutStack } cut && !HasTrace(rest) && ExtractFrames(cutStack, rest, out bool cutOk) is var cutFrames && cutOk)
                {
                    used = cut;
                    frames = cutFrames;
                }
                else if (!ok && HeaderFrame(f.Stack, rest) is { } fromHeader) frames = [fromHeader];
                else if (!ok) d.CorruptedReason = NoFrames;
            }
            var canonical = frames.Select(x => x.Canonical).ToList();
            d.Title = Render(used.Template, m, canonical);
            foreach (var alt in used.Alt) d.AltTitles.Add(Render(alt, m, canonical));
            // Titles with partially stripped frame names group reports of older kernels and other arches.
            foreach (var seq in PartiallyStripped(frames))
            {
                string t = Render(used.Template, m, seq);
                if (t != d.Title) d.AltTitles.Add(t);
                foreach (var alt in used.Alt) d.AltTitles.Add(Render(alt, m, seq));
            }
            d.AltTitles = d.AltTitles.Distinct().ToList();
            d.Format = used;
            d.Frames = frames;
        }
        if (d.Title.Length == 0)
        {
            if (matchedTitle) d.CorruptedReason = "matched title but not report regexp";
            int pos = text.IndexOf(header.Header, StringComparison.Ordinal);
            if (pos < 0) return d;
            int end = text.IndexOf('\n', pos);
            d.Title = HeaderTitle(end < 0 ? text[pos..] : text[pos..end], header);
        }
        if (d.CorruptedReason is null && d.Format is { Corrupted: true }) d.CorruptedReason = "report format is marked as corrupted";
        return d;
    }

    private static readonly Regex Placeholder = new(@"\{(?<n>[a-z0-9]+)\}", RegexOptions.ExplicitCapture);

    private static string Render(string template, Match m, IReadOnlyList<string> frames) =>
        Placeholder.Replace(template, p =>
        {
            string n = p.Groups["n"].Value;
            if (n == "frame") return frames.Count > 0 ? frames[0] : "";
            if (n == "frame2") return frames.Count > 1 ? frames[1] : "";
            var g = m.Groups[n];
            return g.Success ? g.Value : "";
        });

    private static IEnumerable<List<string>> PartiallyStripped(List<PickedFrame> frames)
    {
        var prefixes = OopsFormats.StripPrefixes;
        for (int i = 0; i <= prefixes.Length; i++)
        {
            string prefix = i == 0 ? "" : prefixes[i - 1];
            bool add = i == 0;
            var list = new List<string>(frames.Count);
            foreach (var f in frames)
            {
                string t = prefix.Length > 0 && f.Raw.StartsWith(prefix, StringComparison.Ordinal) ? f.Raw[prefix.Length..] : f.Raw;
                if (t != f.Raw) add = true;
                list.Add(t);
            }
            if (add) yield return list;
        }
    }

    /// <summary>Strips the syscall/wrapper prefix that leaves the shortest name.</summary>
    public static string StripPrefix(string frame)
    {
        string best = frame;
        foreach (var p in OopsFormats.StripPrefixes)
            if (frame.StartsWith(p, StringComparison.Ordinal) && frame.Length - p.Length < best.Length) best = frame[p.Length..];
        return best;
    }

    // "WARNING: CPU: 1 PID: 2 at drivers/x.c:143 func+0x176/0x180 [mod]" and 6.19's "WARNING: x.c:143 at func+0x1/0x2".
    private static readonly Regex HeaderFunction = OopsRegex.Compile(@"^(?:.* )?(?:at {{SRC}} (?:{{PC}} +)?{{FUNC}}|{{SRC}} at {{FUNC}})");

    private static readonly Regex FunctionWithOffset = new(@"(?<func>[a-zA-Z_][a-zA-Z0-9_]*)(?:\.[a-zA-Z0-9_.]+)?\+0x[0-9a-f]+/0x[0-9a-f]+", RegexOptions.ExplicitCapture);
    private static readonly Regex VolatileToken = new(@"\s(?:CPU[:#]|PID:|at\s|\d|\(|\[|<)", RegexOptions.ExplicitCapture);

    /// <summary>
    /// The title of a header no format recognised. Normalising the raw line would leave placeholders
    /// (<c>CPU: NUM PID: NUM</c>, <c>ADDR</c>, <c>file.c:LINE</c>), so: the header and the function it names, else the
    /// header's words up to the first number, address or location.
    /// </summary>
    private static string HeaderTitle(string line, OopsHeader header)
    {
        string kind = header.Header.TrimEnd(':', ' ');
        var fm = FunctionWithOffset.Match(line);
        if (fm.Success) return kind + " in " + StripPrefix(SymbolDemangler.Demangle(fm.Groups["func"].Value));
        int start = header.Header.Length;
        var vm = VolatileToken.Match(line, Math.Max(0, Math.Min(start, line.Length) - 1));
        string head = vm.Success ? line[..vm.Index] : line;
        head = head.TrimEnd(' ', ':', ',', '-');
        return head.Length >= kind.Length ? head : kind;
    }

    private static bool HasTrace(string text)
    {
        foreach (var line in text.Split('\n'))
        {
            if (IsStackStart(line)) return true;
            foreach (var fr in OopsFormats.FrameLines)
                if (fr.IsMatch(line)) return true;
        }
        return false;
    }

    /// <summary>The first caller of panic() in a panic's trace that is not infrastructure, or null.</summary>
    public static string? PanicCaller(string text)
    {
        var frames = ExtractFrames(OopsFormats.PanicStack, text, out bool ok);
        return ok && frames.Count > 0 ? frames[0].Canonical : null;
    }

    // What a machine prints after a WARNING header before its trace: the task line, registers, a real module list.
    private static readonly Regex PastBlock = new(@"^(?:CPU: \d+ (?:UID: \d+ )?PID: \d+ Comm: |RIP: |pc : |[RE]?SP: |Modules linked in: \S)",
        RegexOptions.ExplicitCapture | RegexOptions.CultureInvariant);

    /// <summary>
    /// A report pasted with its first lines only (header, task line, registers; the trace cut): the function its header
    /// names is the guilty frame, unless it is infrastructure. Only when no trace keyword and no frame line is there (a
    /// trace that is there but unreadable stays corrupted), and only when more than the bare header got out: a lone
    /// header line, or one followed by an empty module list, is a console cut short and stays "corrupted" as syzkaller
    /// titles it.
    /// </summary>
    private static PickedFrame? HeaderFrame(StackSpec spec, string text)
    {
        int nl = text.IndexOf('\n');
        string first = nl < 0 ? text : text[..nl];
        var m = HeaderFunction.Match(first);
        if (!m.Success) return null;
        if (HasTrace(text)) return null;
        bool more = false;
        foreach (var line in text.Split('\n').Skip(1))
            if (PastBlock.IsMatch(line)) { more = true; break; }
        if (!more) return null;
        string name = SymbolDemangler.Demangle(m.Groups["func"].Value);
        if (spec.SkipRe.IsMatch(name)) return null;
        return new PickedFrame(StripPrefix(name), name);
    }

    /// <summary>Walks the stack spec's parts over the report; one picked frame per stack section.</summary>
    public static List<PickedFrame> ExtractFrames(StackSpec spec, string text, out bool ok)
    {
        var frames = ExtractFrames(spec, spec.P1, text, out ok);
        if (ok || spec.P2 is null) return frames;
        return ExtractFrames(spec, spec.P2, text, out ok);
    }

    private static List<PickedFrame> ExtractFrames(StackSpec spec, Regex?[] parts, string text, out bool ok)
    {
        var lines = text.Split('\n');
        int li = 0;
        var raw = new List<string>();
        var results = new List<PickedFrame>();
        ok = true;
        int numStacks = 0;
        for (int partIdx = 0; ; partIdx++)
        {
            if (partIdx == parts.Length || (parts[partIdx] is null && numStacks > 0))
            {
                var key = Pick(spec, raw);
                if (key.Canonical.Length == 0) { key = new PickedFrame("corrupted", "corrupted"); ok = false; }
                results.Add(key);
                raw.Clear();
            }
            if (partIdx == parts.Length) break;
            var part = parts[partIdx];
            if (part is null)
            {
                numStacks++;
                while (li < lines.Length)
                {
                    string ln = lines[li++];
                    if (OopsFormats.CorruptedLine.IsMatch(ln)) { ok = false; goto nextPart; }
                    if (IsStackStart(ln)) goto nextPart;
                    if (partIdx != parts.Length - 1 && parts[partIdx + 1] is { } next)
                    {
                        var nm = next.Match(ln);
                        if (nm.Success) { Append(raw, nm, spec.SkipRe); partIdx++; goto nextPart; }
                    }
                    foreach (var fr in OopsFormats.FrameLines)
                    {
                        var fm = fr.Match(ln);
                        if (fm.Success) { Append(raw, fm, spec.SkipRe); break; }
                    }
                }
            }
            else
            {
                while (li < lines.Length)
                {
                    string ln = lines[li++];
                    if (OopsFormats.CorruptedLine.IsMatch(ln)) { ok = false; goto nextPart; }
                    var pm = part.Match(ln);
                    if (!pm.Success) continue;
                    Append(raw, pm, spec.SkipRe);
                    break;
                }
            }
        nextPart:;
        }
        return results;
    }

    public static bool IsStackStart(string line)
    {
        // Every trace keyword holds one of these words: skip the regexes for the ordinary line.
        if (line.AsSpan().IndexOfAny(StackWords) < 0) return false;
        foreach (var re in OopsFormats.StackStarts) if (re.IsMatch(line)) return true;
        return OopsFormats.RiscvStackStart.IsMatch(line);
    }

    private static readonly System.Buffers.SearchValues<string> StackWords = System.Buffers.SearchValues.Create(
        ["race", "llocated", "reed", "acktrace", "Uninit was stored", "badaddr:"], StringComparison.Ordinal);

    private static void Append(List<string> raw, Match m, NameMatcher skip)
    {
        for (int g = 1; g < m.Groups.Count; g++)
        {
            var grp = m.Groups[g];
            if (!grp.Success) continue;
            string name = SymbolDemangler.Demangle(grp.Value);
            if (!skip.IsMatch(name)) raw.Add(name);
        }
    }

    private static PickedFrame Pick(StackSpec spec, List<string> raw)
    {
        if (raw.Count == 0) return default(PickedFrame) with { Canonical = "", Raw = "" };
        var stripped = raw.Select(StripPrefix).ToList();
        var (frame, idx) = spec.Extractor switch
        {
            FrameExtractor.Stall => StallFrame(stripped),
            FrameExtractor.HungTask => HungTaskFrame(stripped),
            _ => (stripped[0], 0),
        };
        return frame.Length > 0 ? new PickedFrame(frame, raw[idx]) : new PickedFrame("", "");
    }

    // A stall's stack points anywhere inside the looping code; the frame just above the dispatch point
    // (syscall entry, work item, timer) names the loop stably.
    private static (string, int) StallFrame(List<string> frames)
    {
        string prev = frames[0];
        int prevIdx = 0;
        for (int i = 0; i < frames.Count; i++)
        {
            if (OopsFormats.StallAnchors.IsMatch(frames[i]))
            {
                if (frames[i].Contains("smp_call_function", StringComparison.Ordinal)) return ("smp_call_function", i);
                return (prev, prevIdx);
            }
            prev = frames[i];
            prevIdx = i;
        }
        return ("", -1);
    }

    private static readonly (string Anchor, string? Bucket)[] HungAnchors =
    [
        ("rtnl_lock", null), ("synchronize_rcu", "synchronize_rcu"), ("synchronize_srcu", "synchronize_rcu"),
        ("synchronize_net", "synchronize_rcu"), ("synchronize_sched", "synchronize_rcu"),
    ];

    private static readonly string[] HungSkip =
    [
        "sched", "_lock", "_slowlock", "down", "rwsem", "completion", "kthread", "wait", "synchronize", "context_switch",
        "__switch_to", "cancel_delayed_work", "rcu_barrier",
    ];

    // Hung tasks are victims: waits on RCU or rtnl_lock are grouped, else the first frame that is not a wait.
    private static (string, int) HungTaskFrame(List<string> frames)
    {
        for (int i = 0; i < frames.Count; i++)
            foreach (var (anchor, bucket) in HungAnchors)
                if (frames[i].Contains(anchor, StringComparison.Ordinal)) return (bucket ?? frames[i], i);
        for (int i = 0; i < frames.Count; i++)
        {
            bool skip = false;
            foreach (var s in HungSkip) if (frames[i].Contains(s, StringComparison.Ordinal)) { skip = true; break; }
            if (!skip) return (frames[i], i);
        }
        return ("", -1);
    }

    /// <summary>Checks a described report for truncation: a trace keyword must be followed by frames.</summary>
    public static string? CheckCorrupted(string title, string report, OopsFormat? format)
    {
        if (OopsFormats.CorruptedTitle.IsMatch(title)) return "title matches corrupted regexp";
        if (format is null || format.NoStackTrace) return null;
        bool hasStack = false;
        var starts = OopsFormats.StackStarts.Append(OopsFormats.RiscvStackStart);
        foreach (var key in starts)
        {
            var m = key.Match(report);
            if (!m.Success) continue;
            var frames = report[m.Index..].Split('\n');
            if (frames.Length < 4) return "call trace is missed";
            bool corrupted = true;
            for (int i = 1; i < 16 && i < frames.Length; i++)
            {
                if (IsStackStart(frames[i])) break;
                if (frames[i].Contains("(stack is not available)", StringComparison.Ordinal) || OopsFormats.FrameLines.Any(f => f.IsMatch(frames[i])))
                {
                    hasStack = true;
                    corrupted = false;
                    break;
                }
            }
            if (key != OopsFormats.RiscvStackStart && corrupted) return "no frames in a stack trace";
        }
        return hasStack ? null : "no stack trace in report";
    }

    /// <summary>Normalises volatile parts (pids, addresses, numbers, file lines) and caps the length, as syzkaller does.</summary>
    public static string Normalize(string title)
    {
        // Logs repeat the same few titles thousands of times; the replacements are the costly part.
        if (NormalizedCache.TryGetValue(title, out var cached)) return cached;
        string result = NormalizeCore(title);
        if (NormalizedCache.Count > 4096) NormalizedCache.Clear();
        NormalizedCache[title] = result;
        return result;
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> NormalizedCache = new(StringComparer.Ordinal);

    private static string NormalizeCore(string title)
    {
        foreach (var (re, repl) in Replacements)
        {
            for (int guard = 0; guard < 16; guard++)
            {
                string next = re.Replace(title, repl);
                if (next == title) break;
                title = next;
            }
        }
        var sb = new StringBuilder(Math.Min(title.Length, 120));
        char prev = ' ';
        for (int i = 0; i < title.Length && i < 120; i++)
        {
            char c = title[i];
            if (c == '\t') c = ' ';
            else if (c < 0x20 || c >= 0x7f) continue;
            if (c == ' ' && prev == ' ') continue;
            sb.Append(c);
            prev = c;
        }
        return sb.ToString().Trim();
    }

    private static readonly (Regex, string)[] Replacements =
    [
        (new Regex(@"syz-executor\.?[0-9]+((/|:)[0-9]+)?"), "syz-executor"),
        (new Regex(@"syzkaller[0-9]+((/|:)[0-9]+)?"), "syzkaller"),
        (new Regex(@"([^a-zA-Z0-9])(?:0x)?[0-9a-f]{6,}"), "${1}ADDR"),
        (new Regex(@"([0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3})"), "IP"),
        (new Regex(@"(\.\w+)(:[0-9]+)+"), "${1}:LINE"),
        (new Regex(@"([a-zA-Z][a-zA-Z0-9_.]+)\+0x[0-9a-z]+/0x[0-9a-z]+"), "${1}"),
        (new Regex(@"CPU#[0-9]+"), "CPU"),
        (new Regex(@"(\W)(\d+)(\W|$)"), "${1}NUM${3}"),
        (new Regex(@"(\d+){7,}"), "NUM"),
    ];

    private static readonly Regex FrameInTitle = new(@".* in ((?:<[a-zA-Z0-9_: ]+>)?[a-zA-Z0-9_:]+)");

    /// <summary>The guilty function as the title names it (<c>... in func</c>).</summary>
    public static string? FrameFromTitle(string title)
    {
        var m = FrameInTitle.Match(title);
        return m.Success ? m.Groups[1].Value : null;
    }
}
