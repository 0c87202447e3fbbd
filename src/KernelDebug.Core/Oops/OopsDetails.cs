using System.Globalization;
using System.Text.RegularExpressions;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Symbols;

namespace KernelDebug.Core.Oops;

/// <summary>The facts a report carries besides its title: task, taint, registers, frames, modules, access.</summary>
internal sealed class OopsDetails
{
    public int? Cpu, Pid;
    public string? Comm, Taint, Release, Hardware, ErrorCode;
    public StackFrame? Ip;
    public ulong? FaultAddress;
    public Dictionary<string, ulong> Registers = new(StringComparer.Ordinal);
    public List<StackFrame> Frames = new();
    public List<string> Modules = new();
    public MemoryAccess? Access;

    private static readonly Regex CpuLine = new(
        @"CPU: (?<cpu>\S+) (?:UID: \S+ )?PID: (?<pid>\S+) Comm: (?<comm>.+?) (?:Not tainted|Tainted: (?<taint>[A-Z ]*[A-Z]))\s+(?<rel>[0-9]\S*)",
        RegexOptions.ExplicitCapture | RegexOptions.CultureInvariant);
    // Hung-task and lockdep reports print the taint on a line of its own.
    private static readonly Regex TaintLine = new(@"^\s+(?:Not tainted|Tainted: (?<taint>[A-Z ]*[A-Z]))\s+(?<rel>[0-9]\S*)", RegexOptions.ExplicitCapture);
    // "WARNING: CPU: 1 PID: 1090 at ..." and 6.19's "WARNING: x.c:143 at func+0x1/0x2, CPU#1: comm/1090".
    private static readonly Regex WarnHeader = new(@"WARNING: (?:CPU: (?<cpu>\S+) PID: (?<pid>\S+) at |.* CPU#(?<cpu>\d+): (?<comm>.+)/(?<pid>\d+)\s*$)",
        RegexOptions.ExplicitCapture | RegexOptions.CultureInvariant);
    private static readonly Regex TaskLine = new(@"INFO: task (?<comm>.+):(?<pid>[^\s:]+) (?:blocked|can't die)", RegexOptions.ExplicitCapture);
    private static readonly Regex FaultAddressRe = new(
        @"(?:page fault for address: |kernel paging request at |NULL pointer dereference, address: |NULL pointer dereference at |of size \d+ at addr |non-canonical address 0x|at virtual address |(?:read|write|free) (?:at|of) 0x|Corrupted memory at 0x)(?<a>[0-9a-f]+)",
        RegexOptions.ExplicitCapture | RegexOptions.CultureInvariant);
    private static readonly Regex Cr2 = new(@"^CR2: (?<a>[0-9a-f]+)", RegexOptions.ExplicitCapture);
    private static readonly Regex ErrorCodeRe = new(@"error_code\((?<e>0x[0-9a-f]+)\)|: (?<e>[0-9a-f]{4}) \[#\d+\]", RegexOptions.ExplicitCapture);
    private static readonly Regex IpRe = new(@"^\s*(?:RIP|EIP|IP|NIP|pc|PC is at)\s*:?\s*(?:[0-9a-f]{4}:)?(?:\[<?[0-9a-f]+>?\]\s*)*(?<f>[A-Za-z_.][A-Za-z0-9_.]*\+0x[0-9a-f]+(?:/0x[0-9a-f]+)?(?: \[[^\]]+\])?)",
        RegexOptions.ExplicitCapture);
    private static readonly Regex RegStart = new(@"^\s*(?:R[A-Z0-9]{1,3}|E[A-Z]{2}|[CDEFGS]S|CR[0-9]|DR[0-9]|x[0-9]{1,2}|lr|sp|pstate)\s*:", RegexOptions.ExplicitCapture);
    private static readonly Regex RegPair = new(@"(?<n>[A-Za-z][A-Za-z0-9]{0,5})\s*: ?(?:[0-9a-f]{4}:)?(?<v>[0-9a-f]{4,16})\b(?!:)", RegexOptions.ExplicitCapture);
    // Each register of a dump line with whatever stands for its value, to tell a damaged value from a real one.
    private static readonly Regex RegisterField = new(@"(?<![A-Za-z0-9_])(?<n>ORIG_RAX|EFLAGS|knlGS|pstate|R[A-Z0-9]{1,3}|E[A-Z]{2}|[CDEFGS]S|CR[0-9]|DR[0-9]|x[0-9]{1,2}|sp) ?:\s*(?<v>\S+)",
        RegexOptions.ExplicitCapture);
    private static readonly Regex KasanHeader = new(@"BUG: KASAN: (?<bug>[a-z\-]+)", RegexOptions.ExplicitCapture);
    private static readonly Regex KasanAccess = new(@"(?<op>Read|Write) of size (?<size>\d+) at addr (?<addr>[0-9a-f]+)", RegexOptions.ExplicitCapture);
    private static readonly Regex KfenceHeader = new(@"BUG: KFENCE: (?<bug>use-after-free|out-of-bounds|invalid|memory corruption|invalid free)(?: (?<op>read|write))? in", RegexOptions.ExplicitCapture);
    private static readonly Regex KfenceAddr = new(@"(?:at|of) 0x(?<addr>[0-9a-f]+)", RegexOptions.ExplicitCapture);
    private static readonly Regex ByTask = new(@"(?<what>[Aa]llocated|[Ff]reed) by task (?<t>\d+)[^:]*:\s*$", RegexOptions.ExplicitCapture);
    private static readonly Regex TraceStart = new(@"Call [Tt]race:|^\s*[Bb]acktrace(?: \(crc [0-9a-f]*\))?:", RegexOptions.ExplicitCapture);
    private static readonly Regex Marker = new(@"^\s*<(?<c>/?[A-Z]+)>\s*$", RegexOptions.ExplicitCapture);

    private static readonly System.Buffers.SearchValues<string> AddressWords = System.Buffers.SearchValues.Create(
        ["address", "request at ", "at addr ", " at 0x", " of 0x"], StringComparison.Ordinal);
    private static readonly System.Buffers.SearchValues<string> IpWords = System.Buffers.SearchValues.Create(
        ["IP", "pc ", "PC is at"], StringComparison.Ordinal);

    /// <summary>
    /// A line of a register dump (<c>RAX: ...</c>, <c>x29: ...</c>, <c>sp : ...</c>, <c>pstate: ...</c>): a register
    /// name leads and at least one register holds a value, even a damaged one (not <c>RPC: Registered ...</c>).
    /// </summary>
    public static bool IsRegisterLine(string text)
    {
        int colon = text.IndexOf(':');
        if (colon is < 2 or > 16 || !RegStart.IsMatch(text)) return false;
        foreach (Match m in RegisterField.Matches(text))
            if (ReadRegister(m.Groups["n"].ValueSpan, m.Groups["v"].ValueSpan) != RegisterValue.None) return true;
        return false;
    }

    private enum RegisterValue { None, Valid, Damaged }

    // What a dump prints for a register: hex ("00010246"), after a selector ("0018:ffffa8c0c1a3fd88"), with a 0x
    // ("0033:0x7f3b5c1e4a90"), with a base ("ffff88807ec00000(0000)"), as the heading of the memory it points to
    // ("R10: 0xffff8801bdcd89c8:"). A symbol or [<pc>] is no value (RIP and EIP print code addresses so, and are read
    // as frames); a number the dump cannot have printed ("18446744073709551616", "1.2.3", "x7") is a damaged one.
    private static RegisterValue ReadRegister(ReadOnlySpan<char> name, ReadOnlySpan<char> v)
    {
        if (name is "RIP" or "EIP") return RegisterValue.None;
        if (v.IndexOfAny('_', '+', '[') >= 0 || v.IndexOf('<') >= 0) return RegisterValue.None;
        if (v.IndexOfAnyInRange('0', '9') < 0) return RegisterValue.None;
        if (v.Length > 1 && v[^1] == ':') v = v[..^1];
        if (v.Length > 5 && v[4] == ':' && IsHex(v[..4])) v = v[5..];
        if (v.Length > 2 && v[^1] == ')' && v.IndexOf('(') is int open and > 0) v = v[..open];
        if (v.StartsWith("0x")) v = v[2..];
        return v.Length is >= 1 and <= 16 && IsHex(v) ? RegisterValue.Valid : RegisterValue.Damaged;
    }

    private static bool IsHex(ReadOnlySpan<char> s)
    {
        foreach (char c in s) if (!char.IsAsciiHexDigit(c)) return false;
        return !s.IsEmpty;
    }

    /// <summary>
    /// Warnings about a report's numbers that do not read (a CPU past int, a register value of 20 digits), each naming
    /// its line, once per line and kind: the value is left out and the rest of the report is read.
    /// </summary>
    private sealed class Issues(ParseContext? ctx)
    {
        private HashSet<(int, string)>? _seen;

        public void Warn(OopsLine line, string message)
        {
            if (ctx is null || !(_seen ??= new()).Add((line.LineNumber, message))) return;
            ctx.Warn(line.LineNumber, message, line.Text);
        }

        public int? Int(string s, string what, OopsLine line)
        {
            if (int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int v)) return v;
            Warn(line, $"{what} '{s}' is not a number that fits");
            return null;
        }

        public ulong? Hex(string s, string what, OopsLine line)
        {
            if (Fields.TryHex(s, out ulong v)) return v;
            Warn(line, $"{what} '{s}' is not a 64-bit hexadecimal number");
            return null;
        }
    }

    /// <summary>The details of a report's own lines; numbers that do not read are warned about in <paramref name="ctx"/>.</summary>
    public static OopsDetails Extract(List<OopsLine> lines, ParseContext? ctx = null)
    {
        var d = new OopsDetails();
        var issues = new Issues(ctx);
        ulong? cr2 = null;
        int traceStart = -1;
        bool taskLine = false;
        for (int i = 0; i < lines.Count; i++)
        {
            string t = lines[i].Text;
            if (!taskLine && t.Contains("PID: ", StringComparison.Ordinal) && CpuLine.Match(t) is { Success: true } c)
            {
                taskLine = true;
                d.Cpu = issues.Int(c.Groups["cpu"].Value, "CPU", lines[i]);
                d.Pid = issues.Int(c.Groups["pid"].Value, "PID", lines[i]);
                d.Comm = c.Groups["comm"].Value;
                d.Taint = c.Groups["taint"].Success ? c.Groups["taint"].Value : "";
                d.Release = c.Groups["rel"].Value;
            }
            else if (d.Hardware is null && t.StartsWith("Hardware name: ", StringComparison.Ordinal)) d.Hardware = t[15..].Trim();
            else if (d.Taint is null && TaintLine.Match(t) is { Success: true } tl)
            {
                d.Taint = tl.Groups["taint"].Success ? tl.Groups["taint"].Value : "";
                d.Release = tl.Groups["rel"].Value;
            }
            // The task line may be cut from a paste: a WARNING header names CPU and PID itself.
            if (d.Cpu is null && i == 0 && t.Contains("WARNING: ", StringComparison.Ordinal) && WarnHeader.Match(t) is { Success: true } wh)
            {
                d.Cpu = issues.Int(wh.Groups["cpu"].Value, "CPU", lines[i]);
                d.Pid = issues.Int(wh.Groups["pid"].Value, "PID", lines[i]);
                if (wh.Groups["comm"].Success) d.Comm = wh.Groups["comm"].Value;
            }
            if (d.Pid is null && t.Contains("INFO: task ", StringComparison.Ordinal) && TaskLine.Match(t) is { Success: true } tk)
            {
                d.Comm = tk.Groups["comm"].Value;
                d.Pid = issues.Int(tk.Groups["pid"].Value, "PID", lines[i]);
            }
            // Cheap substring guards first: most lines of a report match none of these.
            if (d.FaultAddress is null && t.AsSpan().IndexOfAny(AddressWords) >= 0 && FaultAddressRe.Match(t) is { Success: true } fa) d.FaultAddress = issues.Hex(fa.Groups["a"].Value, "fault address", lines[i]);
            if (cr2 is null && t.Contains("CR2:", StringComparison.Ordinal) && Cr2.Match(t.TrimStart()) is { Success: true } cm) cr2 = issues.Hex(cm.Groups["a"].Value, "CR2", lines[i]);
            if (d.ErrorCode is null && (t.Contains("error_code", StringComparison.Ordinal) || t.Contains("[#", StringComparison.Ordinal)) && ErrorCodeRe.Match(t) is { Success: true } ec) d.ErrorCode = ec.Groups["e"].Value;
            if (d.Ip is null && t.AsSpan().IndexOfAny(IpWords) >= 0 && IpRe.Match(t) is { Success: true } ip && !t.Contains(" 0033:", StringComparison.Ordinal))
                d.Ip = StackFrame.TryParse(ip.Groups["f"].Value);
            if (RegStart.IsMatch(t))
            {
                foreach (Match rp in RegPair.Matches(t))
                    if (Fields.TryHex(rp.Groups["v"].Value, out ulong v)) d.Registers.TryAdd(rp.Groups["n"].Value, v);
                foreach (Match rf in RegisterField.Matches(t))
                    if (ReadRegister(rf.Groups["n"].ValueSpan, rf.Groups["v"].ValueSpan) == RegisterValue.Damaged)
                        issues.Warn(lines[i], $"register {rf.Groups["n"].Value} '{rf.Groups["v"].Value}' is not a 64-bit hexadecimal value");
            }
            if (d.Modules.Count == 0 && t.StartsWith("Modules linked in:", StringComparison.Ordinal)) d.Modules = ParseModules(t[18..]);
            if (traceStart < 0 && t.Contains("race", StringComparison.Ordinal) && TraceStart.IsMatch(t)) traceStart = i;
        }
        d.FaultAddress ??= cr2;
        d.Frames = ReadFrames(lines, traceStart >= 0 ? traceStart : 0, traceStart >= 0 ? 0 : 12, issues);
        d.Access = ReadAccess(lines, issues);
        return d;
    }

    private static List<string> ParseModules(string text) => OopsExplainer.ParseModuleList(text).Select(m => m.Name).ToList();

    /// <summary>Frames after line <paramref name="start"/> until the trace ends; <paramref name="slack"/> lines may precede the first frame.</summary>
    private static List<StackFrame> ReadFrames(List<OopsLine> lines, int start, int slack, Issues issues)
    {
        var frames = new List<StackFrame>();
        string? context = null;
        int misses = 0;
        for (int i = start + 1; i < lines.Count; i++)
        {
            string t = lines[i].Text;
            var mk = Marker.Match(t);
            if (mk.Success)
            {
                string c = mk.Groups["c"].Value;
                context = c[0] == '/' || c == "EOI" ? null : c;
                continue;
            }
            if (t.Contains("Exception stack", StringComparison.Ordinal)) { context = "Exception"; continue; }
            var f = ParseFrameLine(t, context);
            if (f is not null) { frames.Add(f); misses = 0; continue; }
            // A frame whose offset or size came out damaged: left out with a warning, and the trace goes on.
            if (IsDamagedFrame(t))
            {
                issues.Warn(lines[i], "stack frame with an offset or size that is not a hexadecimal number");
                misses = 0;
                continue;
            }
            // An interrupt inside the trace prints the interrupted registers; the trace goes on after them.
            if (frames.Count > 0 && (RegStart.IsMatch(t) || IpRe.IsMatch(t) || t.StartsWith("Code: ", StringComparison.Ordinal))) continue;
            if (frames.Count > 0 || ++misses > slack) break;
        }
        return frames;
    }

    /// <summary>
    /// One trace line: <c>[&lt;pc&gt;] ? func+0x1/0x2 [mod] file.c:12 [inline]</c>, any part but the function optional
    /// (a function alone counts only with a source location).
    /// </summary>
    public static StackFrame? ParseFrameLine(string text, string? context)
    {
        var s = text.AsSpan().Trim();
        bool reliable = true;
        for (int k = 0; k < 3; k++)
        {
            if (s.StartsWith("? ")) { reliable = false; s = s[2..].TrimStart(); continue; }
            if (s.Length > 2 && s[0] == '[' && (s[1] == '<' || char.IsAsciiHexDigit(s[1])))
            {
                int close = s.IndexOf(']');
                if (close < 0) return null;
                s = s[(close + 1)..].TrimStart();
                continue;
            }
            break;
        }
        if (s.EndsWith(" (unreliable)")) { reliable = false; s = s[..^13]; }
        if (s.IsEmpty) return null;
        string[] tok = s.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string func = tok[0];
        if (func.StartsWith("0x", StringComparison.Ordinal)) return null;
        string? module = null, source = null;
        for (int k = 1; k < tok.Length; k++)
        {
            string x = tok[k];
            if (x == "[inline]") continue;
            if (x.Length > 2 && x[0] == '[' && x[^1] == ']' && module is null) module = x[1..^1];
            else if (source is null && x.Contains(':') && x.Contains('.') && char.IsAsciiDigit(x[^1])) source = x;
            else return null;
        }
        if (!func.Contains("+0x", StringComparison.Ordinal) && source is null) return null;
        var f = StackFrame.TryParse(module is null ? func : $"{func} [{module}]", context);
        return f is null ? null : f with { Reliable = reliable, Source = source };
    }

    // A frame line as ParseFrameLine takes it apart ("? [<pc>] func+OFF/SIZE [mod] file.c:12"), whose offset or size
    // is no hexadecimal number that fits ("ret_from_fork+x7/0x24", "func+18446744073709551616/0x90").
    private static bool IsDamagedFrame(string text)
    {
        var s = text.AsSpan().Trim();
        for (int k = 0; k < 3; k++)
        {
            if (s.StartsWith("? ")) { s = s[2..].TrimStart(); continue; }
            if (s.Length > 2 && s[0] == '[' && (s[1] == '<' || char.IsAsciiHexDigit(s[1])) && s.IndexOf(']') is int close and > 0)
            {
                s = s[(close + 1)..].TrimStart();
                continue;
            }
            break;
        }
        int sp = s.IndexOf(' ');
        var sym = sp < 0 ? s : s[..sp];
        var rest = sp < 0 ? default : s[sp..];
        foreach (var range in rest.Split(' '))
        {
            var tok = rest[range];
            if (tok.IsEmpty || (tok.Length > 2 && tok[0] == '[' && tok[^1] == ']') || (tok.Contains(':') && tok.Contains('.'))) continue;
            return false;
        }
        int plus = sym.IndexOf('+');
        if (plus <= 0 || char.IsAsciiDigit(sym[0])) return false;
        foreach (char c in sym[..plus]) if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '$')) return false;
        var num = sym[(plus + 1)..];
        if (num.IndexOfAnyInRange('0', '9') < 0) return false;
        int slash = num.IndexOf('/');
        return !HexFits(slash < 0 ? num : num[..slash]) || (slash >= 0 && !HexFits(num[(slash + 1)..]));
    }

    private static bool HexFits(ReadOnlySpan<char> s) => s.StartsWith("0x") && Fields.TryHex(s, out ulong v) && v <= long.MaxValue;

    private static MemoryAccess? ReadAccess(List<OopsLine> lines, Issues issues)
    {
        string? tool = null, bug = null, op = null;
        int? size = null, allocTask = null, freeTask = null;
        ulong? addr = null;
        List<StackFrame> alloc = new(), free = new();
        for (int i = 0; i < lines.Count; i++)
        {
            string t = lines[i].Text;
            if (tool is null)
            {
                if (!t.Contains("BUG: K", StringComparison.Ordinal)) continue;
                if (KasanHeader.Match(t) is { Success: true } kh) { tool = "KASAN"; bug = kh.Groups["bug"].Value; continue; }
                if (KfenceHeader.Match(t) is { Success: true } kf)
                {
                    tool = "KFENCE"; bug = kf.Groups["bug"].Value;
                    if (kf.Groups["op"].Success) op = Capitalize(kf.Groups["op"].Value);
                    continue;
                }
                continue;
            }
            if (addr is null && tool == "KASAN" && KasanAccess.Match(t) is { Success: true } ka)
            {
                op = ka.Groups["op"].Value;
                size = issues.Int(ka.Groups["size"].Value, "access size", lines[i]);
                addr = issues.Hex(ka.Groups["addr"].Value, "access address", lines[i]);
            }
            else if (addr is null && tool == "KFENCE" && KfenceAddr.Match(t) is { Success: true } fa) addr = issues.Hex(fa.Groups["addr"].Value, "access address", lines[i]);
            if (ByTask.Match(t) is { Success: true } bt)
            {
                bool isAlloc = bt.Groups["what"].Value.StartsWith('A') || bt.Groups["what"].Value.StartsWith('a');
                var frames = ReadFrames(lines, i, 2, issues);
                if (isAlloc && allocTask is null) { allocTask = issues.Int(bt.Groups["t"].Value, "task", lines[i]); alloc = frames; }
                else if (!isAlloc && freeTask is null) { freeTask = issues.Int(bt.Groups["t"].Value, "task", lines[i]); free = frames; }
            }
        }
        if (tool is null) return null;
        return new MemoryAccess
        {
            Tool = tool, Bug = bug, Operation = op, SizeBytes = size, Address = addr,
            AllocatedByTask = allocTask, FreedByTask = freeTask, AllocationStack = alloc, FreeStack = free,
        };
    }

    private static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];
}
