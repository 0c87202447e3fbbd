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
    public static KernelOops Analyze(OopsHeader header, string context, List<OopsLine> lines, ParseContext? ctx)
    {
        try
        {
            return AnalyzeCore(header, context, lines);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Never let one odd report stop the log (a regex timeout on hostile text, a bug of ours):
            // hand it back as corrupted and say why.
            ctx?.Warn(lines[0].LineNumber, $"crash report could not be analysed: {e.Message}", lines[0].Text);
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

    private static KernelOops AnalyzeCore(OopsHeader header, string context, List<OopsLine> lines)
    {
        // Build the report text: lines of the reporting context, unreliable frames out, the panic_on_warn
        // tail (which repeats the stack) out once enough of the report is in.
        var report = new StringBuilder();
        int reportEnd = 0, endIdx = 0;
        bool second = false, skipText = false, cpuTraceback = false;
        int textLines = 0, endOfOwn = lines.Count - 1;
        int minLines = lines[0].Text.Contains("BUG: KMSAN:", StringComparison.Ordinal) ? 16 : 22;
        var mine = new List<OopsLine>();
        for (int i = 0; i < lines.Count; i++)
        {
            var line = lines[i];
            bool first = i == 0;
            if (OopsFormats.MatchHeader(line.Text) is not null)
            {
                endIdx = i;
                if (!first && !second && !OopsFormats.ContinuesReport(line.Text)) { second = true; endOfOwn = i - 1; }
            }
            else if (!first && !second)
            {
                foreach (var p in OopsFormats.InfoMessagesWithStack)
                    if (line.Text.Contains(p, StringComparison.Ordinal)) { second = true; break; }
            }
            bool sameContext = line.Context == context || (cpuTraceback && IsCpuContext(line.Context));
            if (sameContext) mine.Add(line);
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

        var details = OopsDetails.Extract(mine.Count > 0 ? mine : lines);
        string? panic = null;
        foreach (var l in lines)
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
            Source = lines[0].Message.Source,
            StartLine = lines[0].LineNumber,
            EndLine = lines[last].LineNumber,
            Lines = lines.Take(last + 1).Select(l => l.Text).ToArray(),
        };
    }

    private static bool IsShared(string context) => context.Length == 0 || context == "console";

    /// <summary>Lines that look like part of a report (frames, markers, registers): they keep a report open.</summary>
    public static bool IsStructural(string text) =>
        text.Contains("+0x", StringComparison.Ordinal) || text.Contains("---[", StringComparison.Ordinal) ||
        text.Contains("</", StringComparison.Ordinal) || text.StartsWith("====", StringComparison.Ordinal) ||
        text.Contains("Kernel panic", StringComparison.Ordinal) || text.StartsWith("Code: ", StringComparison.Ordinal) ||
        text.StartsWith("Modules linked in", StringComparison.Ordinal) || text.Contains("Call Trace", StringComparison.OrdinalIgnoreCase);

    private static int LastStructural(List<OopsLine> lines, string context, int limit)
    {
        for (int i = Math.Min(limit, lines.Count - 1); i > 0; i--)
            if ((lines[i].Context == context || IsShared(context)) && IsStructural(lines[i].Text)) return i;
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

    private static readonly Regex CommonSkip = new(string.Join("|", OopsFormats.CommonSkip.Concat(["^entry_SYSCALL", "^do_syscall", "^ret_from_fork", "^kthread$", "^asm_"])),
        RegexOptions.CultureInvariant);

    private static string Hash(string s) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(s)))[..16];
}
