using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using KernelDebug.Core.Inventory;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Symbols;

namespace KernelDebug.Core.Oops;

/// <summary>Turns the lines of one report into a <see cref="KernelOops"/>.</summary>
internal static class OopsAnalyzer
{
    /// <summary>How the warning for a report the analyser failed on begins (a bug of ours, or a regex timeout).</summary>
    public const string AnalysisFailed = "crash report could not be analysed";

    public static KernelOops Analyze(OopsHeader header, string context, List<OopsLine> lines, ParseContext? ctx)
    {
        try
        {
            return AnalyzeCore(header, context, lines, ctx);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Never let one odd report stop the log (a regex timeout on hostile text, a bug of ours):
            // hand it back as corrupted and say why.
            ctx?.Warn(lines[0].LineNumber, $"{AnalysisFailed}: {e.GetType().Name}: {e.Message}", lines[0].Text);
            return new KernelOops
            {
                Kind = header.Formats[0].Kind,
                Title = OopsDescription.Normalize(lines[0].Text),
                Signature = Hash(header.Header + "\n" + lines[0].Text),
                Corrupted = true,
                CorruptedReason = "analysis failed: " + e.GetType().Name,
                StartLine = lines[0].LineNumber,
                EndLine = lines[^1].LineNumber,
                Source = lines[0].Message.Source,
                Time = lines[0].Message.Time,
                Uptime = lines[0].Message.Uptime,
                Lines = lines.Select(l => l.Text).ToArray(),
            };
        }
    }

    private static bool IsCpuContext(string c) => c.Length > 1 && c[0] == 'C';

    /// <summary>Lines kept after a report's last report-like line: enough for trailers such as "last function:".</summary>
    private const int Trailer = 50;
    /// <summary>Lines of a shared console kept after the next report's header.</summary>
    private const int AfterSecond = 100;

    private static KernelOops AnalyzeCore(OopsHeader header, string context, List<OopsLine> lines, ParseContext? ctx)
    {
        var full0 = lines;
        // A report held open for a while carries the messages that followed it. Analyse up to its last
        // report-like line plus a trailer; without caller info also at most a little way into the next report
        // (a trace printed after an interleaved header still counts, the rest is the next report's business).
        bool anyPanic = lines.Any(l => l.Text.Contains("Kernel panic - not syncing", StringComparison.Ordinal));
        int secondHeader = -1;
        if (IsShared(context))
            for (int i = 1; i < lines.Count; i++)
                if (lines[i].Header is not null && !lines[i].Continues) { secondHeader = i; break; }
        int window = LastStructural(lines, context, secondHeader > 0 ? secondHeader - 1 : lines.Count - 1) + Trailer;
        if (secondHeader > 0) window = Math.Min(window, secondHeader + AfterSecond);
        if (window < lines.Count - 1) lines = lines.GetRange(0, window + 1);

        // Build the report text: lines of the reporting context, unreliable frames out, the panic_on_warn
        // tail (which repeats the stack) out once enough of the report is in.
        var report = new StringBuilder();
        int reportEnd = 0, endIdx = 0;
        bool second = false, skipText = false, cpuTraceback = false;
        int textLines = 0, endOfOwn = lines.Count - 1;
        int minLines = lines[0].Text.Contains("BUG: KMSAN:", StringComparison.Ordinal) ? 16 : 22;
        var own = new List<OopsLine>();
        bool ownDone = false;
        for (int i = 0; i < lines.Count; i++)
        {
            var line = lines[i];
            bool first = i == 0;
            if (line.Header is not null)
            {
                endIdx = i;
                if (!first && !second && !line.Continues) { second = true; endOfOwn = i - 1; }
            }
            else if (!first && !second)
            {
                foreach (var p in OopsFormats.InfoMessagesWithStack)
                    if (line.Text.Contains(p, StringComparison.Ordinal)) { second = true; break; }
            }
            bool sameContext = line.Context == context || (cpuTraceback && IsCpuContext(line.Context));
            // Details come from this report's own lines, never from a report that follows it.
            if (!first && line.Header is not null && !line.Continues && (IsShared(context) || line.Context == context)) ownDone = true;
            if (sameContext && !ownDone) own.Add(line);
            if (!first && (line.Questionable || !sameContext)) continue;
            textLines++;
            bool skipLine = skipText;
            if (line.Text.Contains("Disabling lock debugging due to kernel taint", StringComparison.Ordinal)) skipLine = true;
            else if (line.Text.Contains("Sending NMI from CPU", StringComparison.Ordinal)) cpuTraceback = true;
            else if ((line.Text.Contains("Kernel panic - not syncing", StringComparison.Ordinal) ||
                      line.Text.Contains("WARNING: possible circular locking dependency detected", StringComparison.Ordinal)) && textLines > minLines)
            {
                skipText = true;
                skipLine = true;
            }
            if (!first && skipLine) continue;
            report.Append(line.Stripped).Append('\n');
            if (!second || !IsShared(context)) reportEnd = report.Length;
        }
        string full = report.ToString();
        var d = OopsDescription.Describe(full[..reportEnd], header);
        if (d.Title.Length == 0)
        {
            full = string.Join('\n', lines.Take(endIdx + 1).Select(l => l.Text)) + "\n";
            d = OopsDescription.Describe(full, header);
        }
        if (d.Title.Length == 0) d.Title = lines[0].Text;
        string? corrupted = d.CorruptedReason ?? OopsDescription.CheckCorrupted(d.Title, full, d.Format);
        if (corrupted is null && lines.Any(l => l.Text.Contains("serialport: VM disconnected.", StringComparison.Ordinal)))
            corrupted = "console connection lost";

        string title = OopsDescription.Normalize(d.Title);
        var alts = d.AltTitles.Select(OopsDescription.Normalize).Distinct().ToArray();
        var format = d.Format ?? header.Formats.FirstOrDefault(f => f.TitleRe.IsMatch(full)) ?? header.Formats[^1];
        string? guilty = OopsDescription.FrameFromTitle(title) ?? (d.Frames.Count > 0 ? d.Frames[0].Canonical : null);
        // A panic titled by its message ("kernel panic: VFS: Unable to mount root fs"): the code that called panic().
        if (guilty is null && format.Kind == OopsKind.Panic) guilty = OopsDescription.PanicCaller(full);

        var details = OopsDetails.Extract(own, ctx);
        var why = OopsExplainer.Explain(own, details, guilty);
        string? panic = null;
        foreach (var l in anyPanic ? full0 : [])
        {
            int p = l.Text.IndexOf("Kernel panic - not syncing", StringComparison.Ordinal);
            if (p < 0) continue;
            string rest = l.Text[(p + "Kernel panic - not syncing".Length)..].TrimStart(':', ' ');
            panic = rest;
            break;
        }

        int last = LastStructural(lines, context, endOfOwn);
        return new KernelOops
        {
            Kind = format.Kind,
            Category = OopsFormats.CategoryOf(title),
            Title = title,
            AltTitles = alts,
            GuiltyFrame = guilty,
            Signature = Signature(format.Kind, details.Frames, guilty ?? title),
            Corrupted = corrupted is not null,
            CorruptedReason = corrupted,
            Panicked = panic is not null,
            PanicMessage = panic,
            Time = lines[0].Message.Time,
            Uptime = lines[0].Message.Uptime,
            Cpu = details.Cpu,
            ProcessId = details.Pid,
            Command = details.Comm,
            TaintedText = details.Taint,
            Tainted = details.Taint is null ? null : KernelTaint.FromLetters(details.Taint),
            KernelRelease = details.Release,
            Hardware = details.Hardware,
            InstructionPointer = details.Ip,
            FaultAddress = details.FaultAddress,
            ErrorCode = details.ErrorCode,
            Registers = details.Registers,
            Frames = details.Frames,
            Modules = details.Modules,
            Access = details.Access,
            Code = why.Code,
            FaultingInstruction = why.Code?.FaultingInstruction?.Text,
            FaultingAccess = why.Access,
            GuiltyFile = why.GuiltyFile,
            GuiltyModule = why.GuiltyModule,
            Source = lines[0].Message.Source,
            StartLine = lines[0].LineNumber,
            EndLine = lines[last].LineNumber,
            Lines = lines.Take(last + 1).Select(l => l.Text).ToArray(),
        };
    }

    private static bool IsShared(string context) => context.Length == 0 || context == "console";

    /// <summary>
    /// Lines that look like part of a report: they keep a report open, and a report's <see cref="KernelOops.Lines"/>
    /// end at the last of them. Frames (also by their address or size alone: <c>[&lt;c0150dc4&gt;]</c>, <c>/0x24</c>, for
    /// a frame whose offset came out damaged), markers, <c>Code:</c>, and the lines the details are read from: the
    /// task line, the hardware name and register dumps, which end a report pasted without its trace.
    /// </summary>
    public static bool IsStructural(string text) =>
        text.AsSpan().IndexOfAny(StructuralWords) >= 0 || text.StartsWith("====", StringComparison.Ordinal) ||
        text.StartsWith("Code: ", StringComparison.Ordinal) || text.StartsWith("Modules linked in", StringComparison.Ordinal) ||
        text.StartsWith("Hardware name: ", StringComparison.Ordinal) ||
        (text.Contains("PID: ", StringComparison.Ordinal) && text.Contains(" Comm: ", StringComparison.Ordinal)) ||
        OopsDetails.IsRegisterLine(text);

    private static readonly System.Buffers.SearchValues<string> StructuralWords = System.Buffers.SearchValues.Create(
        ["+0x", "/0x", "[<", "---[ end", "</", "Kernel panic", "Call Trace", "Call trace", "CALL TRACE"], StringComparison.Ordinal);

    private static int LastStructural(List<OopsLine> lines, string context, int limit)
    {
        for (int i = Math.Min(limit, lines.Count - 1); i > 0; i--)
            if ((lines[i].Context == context || IsShared(context)) && lines[i].Structural) return i;
        return 0;
    }

    private static string Signature(OopsKind kind, IReadOnlyList<StackFrame> frames, string fallback)
    {
        var sb = new StringBuilder(kind.ToString());
        int n = 0;
        foreach (var f in frames)
        {
            if (!f.Reliable) continue;
            string name = f.Function;
            int dot = name.IndexOf('.');
            if (dot > 0) name = name[..dot];
            name = OopsDescription.StripPrefix(name);
            if (CommonSkip.IsMatch(name)) continue;
            sb.Append('\n').Append(name);
            if (++n == 5) break;
        }
        if (n == 0) sb.Append('\n').Append(fallback);
        return Hash(sb.ToString());
    }

    private static readonly NameMatcher CommonSkip = new(["^entry_SYSCALL", "^do_syscall", "^ret_from_fork", "^kthread$", "^asm_"], OopsFormats.CommonSkipMatcher);

    private static string Hash(string s) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(s)))[..16];
}
