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
        @"CPU: (?<cpu>\d+) (?:UID: \d+ )?PID: (?<pid>\d+) Comm: (?<comm>.+?) (?:Not tainted|Tainted: (?<taint>[A-Z ]*[A-Z]))\s+(?<rel>[0-9]\S*)",
        RegexOptions.ExplicitCapture | RegexOptions.CultureInvariant);
    // Hung-task and lockdep reports print the taint on a line of its own.
    private static readonly Regex TaintLine = new(@"^\s+(?:Not tainted|Tainted: (?<taint>[A-Z ]*[A-Z]))\s+(?<rel>[0-9]\S*)", RegexOptions.ExplicitCapture);
    // "WARNING: CPU: 1 PID: 1090 at ..." and 6.19's "WARNING: x.c:143 at func+0x1/0x2, CPU#1: comm/1090".
    private static readonly Regex WarnHeader = new(@"WARNING: (?:CPU: (?<cpu>\d+) PID: (?<pid>\d+) at |.* CPU#(?<cpu>\d+): (?<comm>.+)/(?<pid>\d+)\s*$)",
        RegexOptions.ExplicitCapture | RegexOptions.CultureInvariant);
    private static readonly Regex TaskLine = new(@"INFO: task (?<comm>.+):(?<pid>\d+) (?:blocked|can't die)", RegexOptions.ExplicitCapture);
    private static readonly Regex FaultAddressRe = new(
        @"(?:page fault for address: |kernel paging request at |NULL pointer dereference, address: |NULL pointer dereference at |of size \d+ at addr |non-canonical address 0x|at virtual address |(?:read|write|free) (?:at|of) 0x|Corrupted memory at 0x)(?<a>[0-9a-f]+)",
        RegexOptions.ExplicitCapture | RegexOptions.CultureInvariant);
    private static readonly Regex Cr2 = new(@"^CR2: (?<a>[0-9a-f]+)", RegexOptions.ExplicitCapture);
    private static readonly Regex ErrorCodeRe = new(@"error_code\((?<e>0x[0-9a-f]+)\)|: (?<e>[0-9a-f]{4}) \[#\d+\]", RegexOptions.ExplicitCapture);
    private static readonly Regex IpRe = new(@"^\s*(?:RIP|EIP|IP|NIP|pc|PC is at)\s*:?\s*(?:[0-9a-f]{4}:)?(?:\[<?[0-9a-f]+>?\]\s*)*(?<f>[A-Za-z_.][A-Za-z0-9_.]*\+0x[0-9a-f]+(?:/0x[0-9a-f]+)?(?: \[[^\]]+\])?)",
        RegexOptions.ExplicitCapture);
    private static readonly Regex RegStart = new(@"^\s*(?:R[A-Z0-9]{1,3}|E[A-Z]{2}|[CDEFGS]S|CR[0-9]|DR[0-9]|x[0-9]{1,2}|lr|sp|pstate)\s*:", RegexOptions.ExplicitCapture);
    private static readonly Regex RegPair = new(@"(?<n>[A-Za-z][A-Za-z0-9]{0,5})\s*: ?(?:[0-9a-f]{4}:)?(?<v>[0-9a-f]{4,16})\b(?!:)", RegexOptions.ExplicitCapture);
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

    public static OopsDetails Extract(List<OopsLine> lines)
    {
        var d = new OopsDetails();
        ulong? cr2 = null;
        int traceStart = -1;
        bool taskLine = false;
        for (int i = 0; i < lines.Count; i++)
        {
            string t = lines[i].Text;
            if (!taskLine && t.Contains("PID: ", StringComparison.Ordinal) && CpuLine.Match(t) is { Success: true } c)
            {
                taskLine = true;
                d.Cpu = Int(c.Groups["cpu"].Value);
                d.Pid = Int(c.Groups["pid"].Value);
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
                d.Cpu = Int(wh.Groups["cpu"].Value);
                d.Pid = Int(wh.Groups["pid"].Value);
                if (wh.Groups["comm"].Success) d.Comm = wh.Groups["comm"].Value;
            }
            if (d.Pid is null && t.Contains("INFO: task ", StringComparison.Ordinal) && TaskLine.Match(t) is { Success: true } tk)
            {
                d.Comm = tk.Groups["comm"].Value;
                d.Pid = Int(tk.Groups["pid"].Value);
            }
            // Cheap substring guards first: most lines of a report match none of these.
            if (d.FaultAddress is null && t.AsSpan().IndexOfAny(AddressWords) >= 0 && FaultAddressRe.Match(t) is { Success: true } fa && Fields.TryHex(fa.Groups["a"].Value, out ulong a)) d.FaultAddress = a;
            if (cr2 is null && t.Contains("CR2:", StringComparison.Ordinal) && Cr2.Match(t.TrimStart()) is { Success: true } cm && Fields.TryHex(cm.Groups["a"].Value, out ulong c2)) cr2 = c2;
            if (d.ErrorCode is null && (t.Contains("error_code", StringComparison.Ordinal) || t.Contains("[#", StringComparison.Ordinal)) && ErrorCodeRe.Match(t) is { Success: true } ec) d.ErrorCode = ec.Groups["e"].Value;
            if (d.Ip is null && t.AsSpan().IndexOfAny(IpWords) >= 0 && IpRe.Match(t) is { Success: true } ip && !t.Contains(" 0033:", StringComparison.Ordinal))
                d.Ip = StackFrame.TryParse(ip.Groups["f"].Value);
            if (RegStart.IsMatch(t))
                foreach (Match rp in RegPair.Matches(t))
                    if (Fields.TryHex(rp.Groups["v"].Value, out ulong v)) d.Registers.TryAdd(rp.Groups["n"].Value, v);
            if (d.Modules.Count == 0 && t.StartsWith("Modules linked in:", StringComparison.Ordinal)) d.Modules = ParseModules(t[18..]);
            if (traceStart < 0 && t.Contains("race", StringComparison.Ordinal) && TraceStart.IsMatch(t)) traceStart = i;
        }
        d.FaultAddress ??= cr2;
        d.Frames = ReadFrames(lines, traceStart >= 0 ? traceStart : 0, traceStart >= 0 ? 0 : 12);
        d.Access = ReadAccess(lines);
        return d;
    }

    private static int? Int(string s) => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : null;

    private static List<string> ParseModules(string text) => OopsExplainer.ParseModuleList(text).Select(m => m.Name).ToList();

    /// <summary>Frames after line <paramref name="start"/> until the trace ends; <paramref name="slack"/> lines may precede the first frame.</summary>
    private static List<StackFrame> ReadFrames(List<OopsLine> lines, int start, int slack)
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

    private static MemoryAccess? ReadAccess(List<OopsLine> lines)
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
                size = Int(ka.Groups["size"].Value);
                if (Fields.TryHex(ka.Groups["addr"].Value, out ulong a)) addr = a;
            }
            else if (addr is null && tool == "KFENCE" && KfenceAddr.Match(t) is { Success: true } fa && Fields.TryHex(fa.Groups["addr"].Value, out ulong b)) addr = b;
            if (ByTask.Match(t) is { Success: true } bt)
            {
                bool isAlloc = bt.Groups["what"].Value.StartsWith('A') || bt.Groups["what"].Value.StartsWith('a');
                var frames = ReadFrames(lines, i, 2);
                if (isAlloc && allocTask is null) { allocTask = Int(bt.Groups["t"].Value); alloc = frames; }
                else if (!isAlloc && freeTask is null) { freeTask = Int(bt.Groups["t"].Value); free = frames; }
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
