using System.Text.RegularExpressions;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Symbols;

namespace KernelDebug.Core.Oops;

/// <summary>What a detected report says beyond its title: the code that faulted, the bad pointer, whose code it was.</summary>
internal sealed record OopsExplanation(OopsCode? Code, FaultingAccess? Access, string? GuiltyFile, OopsModule? GuiltyModule,
    IReadOnlyList<OopsModule> LinkedModules, IReadOnlyDictionary<string, ulong> CodeRegisters);

/// <summary>
/// Explains a detected report: decodes its <c>Code:</c> line (Iced for x86, Capstone for arm), evaluates the
/// faulting instruction's memory operand with the report's registers, and finds the guilty frame's file and module.
/// </summary>
internal static class OopsExplainer
{
    private static readonly Regex IpLine = new(
        @"^\s*(?<w>RIP|EIP|IP|pc|PC is at)(?=[\s:])\s*:?\s*(?:(?<cs>[0-9a-f]{4}):)?(?:\[<(?<a>[0-9a-f]+)>\]|0x(?<a>[0-9a-f]+)\b)?",
        RegexOptions.ExplicitCapture | RegexOptions.CultureInvariant);
    // arm prints "r10: 00000000  r9 : 8e8d5f4c" and "pc : [<80117e24>]": lower-case names the common dump parser leaves out.
    private static readonly Regex ArmReg = new(@"(?<![A-Za-z0-9])(?<n>r[0-9]{1,2}|fp|ip|sp|lr|pc)\s*:\s*(?:\[<)?(?<v>[0-9a-f]{8})\b",
        RegexOptions.ExplicitCapture | RegexOptions.CultureInvariant);
    private static readonly Regex KasanNullRange = new(@"null-ptr-deref in range \[0x(?<lo>[0-9a-f]+)-0x(?<hi>[0-9a-f]+)\]",
        RegexOptions.ExplicitCapture | RegexOptions.CultureInvariant);

    /// <summary>x86_64 KASAN_SHADOW_OFFSET: shadow = (addr &gt;&gt; 3) + offset.</summary>
    private const ulong X86KasanShadow = 0xdffffc0000000000;
    private const ulong PageSize = 0x1000;

    public static OopsExplanation Explain(List<OopsLine> lines, OopsDetails details, string? guilty, CodeSyntax syntax = CodeSyntax.Intel)
    {
        try
        {
            return ExplainCore(lines, details, guilty, syntax);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // An explanation is extra: odd bytes or registers must never cost the report its title.
            return new OopsExplanation(null, null, null, null, [], details.Registers);
        }
    }

    private static OopsExplanation ExplainCore(List<OopsLine> lines, OopsDetails details, string? guilty, CodeSyntax syntax)
    {
        var modules = LinkedModules(lines);
        var (code, regs) = DecodeCode(lines, details, syntax);
        var access = code is { Decoded: true, UserMode: false } ? Access(code, regs, FaultAddress(lines, details), lines.Select(l => l.Text), syntax) : null;
        var (file, module) = Guilty(lines, details, guilty, modules);
        return new OopsExplanation(code, access, file, module, modules, regs);
    }

    /// <summary>The first <c>Code:</c> line of the report decoded, with the registers its operand is evaluated against.</summary>
    private static (OopsCode?, IReadOnlyDictionary<string, ulong>) DecodeCode(List<OopsLine> lines, OopsDetails details, CodeSyntax syntax)
    {
        // The kernel's Code: line; a report that has only the user task's (RIP: 0033 after a syscall) gets that one, marked.
        int ci = -1;
        Match? ip = null;
        for (int i = 0; i < lines.Count; i++)
        {
            if (!lines[i].Text.TrimStart().StartsWith("Code:", StringComparison.Ordinal)) continue;
            var m = IpOf(lines, i);
            bool user = m?.Groups["cs"].Value is "0033" or "0023" or "002b" or "0073" or "007b";
            if (ci < 0 || !user) { ci = i; ip = m; }
            if (!user) break;
        }
        if (ci < 0) return (null, details.Registers);
        string text = lines[ci].Text.TrimStart()[5..].Trim();
        var line = CodeLine.Parse(text);
        bool userMode = ip?.Groups["cs"].Value is "0033" or "0023" or "002b" or "0073" or "007b";
        ulong? ipAddress = ip is not null && ip.Groups["a"].Success && Fields.TryHex(ip.Groups["a"].Value, out ulong a) ? a : null;
        if (line is null)
            return (new OopsCode
            {
                Architecture = "unknown",
                NotDecodedReason = text.Length == 0 ? "the report printed no code bytes" : $"the report printed no code bytes ({text})",
            }, details.Registers);
        if (line.UnitBytes == 1)
        {
            // 32-bit code: an i386 kernel (EIP), or a compat task (user CS 0023).
            int bitness = ip?.Groups["w"].Value == "EIP" || ip?.Groups["cs"].Value is "0023" or "0060" or "0073" ? 32 : 64;
            return (X86CodeDecoder.Decode(line, bitness, syntax, ipAddress) with { UserMode = userMode }, details.Registers);
        }
        bool arm64 = line.UnitBytes == 4 && (details.Registers.ContainsKey("pstate") || details.Registers.ContainsKey("x29") ||
            lines.Any(l => l.Text.Contains("pstate:", StringComparison.Ordinal)));
        var regs = details.Registers;
        if (!arm64)
        {
            var armRegs = new Dictionary<string, ulong>(StringComparer.Ordinal);
            foreach (var l in lines)
                foreach (Match m in ArmReg.Matches(l.Text))
                    if (Fields.TryHex(m.Groups["v"].Value, out ulong v)) armRegs.TryAdd(m.Groups["n"].Value, v);
            regs = armRegs;
            if (ipAddress is null && armRegs.TryGetValue("pc", out ulong pc)) ipAddress = pc;
        }
        return (ArmCodeDecoder.Decode(line, arm64, ipAddress), regs);
    }

    /// <summary>
    /// The faulting instruction's IP line for the Code: line at <paramref name="ci"/>: the last one before it (newer x86
    /// kernels print Code: right after RIP:), else the next one (older kernels print Code: after the trace).
    /// </summary>
    private static Match? IpOf(List<OopsLine> lines, int ci)
    {
        for (int i = ci - 1; i >= 0; i--)
        {
            if (lines[i].Text.TrimStart().StartsWith("Code:", StringComparison.Ordinal)) break;
            if (IpLine.Match(lines[i].Text) is { Success: true } m && m.Length > m.Groups["w"].Length) return m;
        }
        for (int i = ci + 1; i < lines.Count; i++)
            if (IpLine.Match(lines[i].Text) is { Success: true } m && m.Length > m.Groups["w"].Length) return m;
        return null;
    }

    /// <summary>Re-formats a report's decoded x86 code in another syntax (arm code has one syntax and is returned as is).</summary>
    public static KernelOops WithSyntax(KernelOops o, CodeSyntax syntax)
    {
        if (o.Code is not { Decoded: true } code || code.Syntax == syntax || !code.Architecture.StartsWith('x') && code.Architecture != "i386") return o;
        int bitness = code.Architecture == "i386" ? 32 : 64;
        var line = new CodeLine(code.Bytes.ToArray(), 1, code.MarkerOffset, code.Marker is "()" ? '(' : code.Marker is "<>" ? '<' : null, code.Truncated);
        ulong? marker = code.FaultingInstruction?.Address;
        var recoded = X86CodeDecoder.Decode(line, bitness, syntax, marker) with { UserMode = code.UserMode };
        // arm registers are read apart from the common dump, but arm code has no other syntax: x86 uses Registers.
        var access = recoded.UserMode ? null : Access(recoded, o.Registers, o.FaultingAccess is { MatchesFaultAddress: null } ? null : o.FaultAddress, o.Lines, syntax);
        return o with { Code = recoded, FaultingInstruction = recoded.FaultingInstruction?.Text, FaultingAccess = access };
    }

    private static FaultingAccess? Access(OopsCode code, IReadOnlyDictionary<string, ulong> regs, ulong? fault, IEnumerable<string> lines, CodeSyntax syntax)
    {
        FaultingAccess? acc = code.Architecture switch
        {
            "x86_64" => X86CodeDecoder.Evaluate(code, 64, regs, syntax),
            "i386" => X86CodeDecoder.Evaluate(code, 32, regs, syntax),
            _ => ArmCodeDecoder.Evaluate(code, regs),
        };
        if (acc is null) return acc;
        // arm64 reports the fault address without the pointer's top byte (tags): compare below it there.
        bool? matches = acc.Address is { } ad && fault is { } f ? ad == f || (code.Architecture == "arm64" && (ad & 0x00ff_ffff_ffff_ffff) == (f & 0x00ff_ffff_ffff_ffff)) : null;
        long? nullOffset = null;
        string what = acc.Operation switch { "Read" => "reads", "Write" => "writes", "ReadWrite" => "updates", _ => "accesses" };
        string regs0 = acc.BaseRegister is null ? "" : $"{acc.BaseRegister} (0x{acc.BaseValue:x})";
        if (acc.IndexRegister is not null) regs0 += $"{(regs0.Length > 0 ? " + " : "")}{acc.IndexRegister} (0x{acc.IndexValue:x})" + (acc.Scale > 1 ? $"*{acc.Scale}" : "");
        string sum = regs0.Length == 0 ? acc.OffsetHex : $"{regs0} {(acc.Offset < 0 ? "-" : "+")} 0x{Math.Abs(acc.Offset):x}";
        string? explanation = null;
        string matchText = matches switch { true => "; matches the fault address", false => $"; the fault address is 0x{fault:x}", _ => "" };
        if (acc.Address is { } addr)
        {
            var kasan = lines.Select(l => KasanNullRange.Match(l)).FirstOrDefault(m => m.Success);
            if (kasan is not null && (matches == true || IsX86Shadow(addr, code)) && Fields.TryHex(kasan.Groups["lo"].Value, out ulong lo))
            {
                nullOffset = (long)lo;
                explanation = $"{acc.Instruction} {what} 0x{addr:x} = {sum}: the KASAN shadow of 0x{lo:x}, a NULL pointer plus offset 0x{lo:x}{matchText}";
            }
            else if (IsX86Shadow(addr, code))
            {
                // KASAN checks the shadow byte of an address before the access: the address is (shadow - offset) << 3.
                ulong shadowed = (addr - X86KasanShadow) << 3;
                string whose = shadowed < PageSize ? $", a NULL pointer plus offset 0x{shadowed:x}" : Poison(shadowed) is { } p ? $", {p}" : "";
                if (shadowed < PageSize) nullOffset = (long)shadowed;
                explanation = $"{acc.Instruction} {what} 0x{addr:x} = {sum}: the KASAN shadow of 0x{shadowed:x}-0x{shadowed + 7:x}{whose}{matchText}";
            }
            else if (addr < PageSize && acc.Offset >= 0 && (acc.BaseValue ?? 0) < PageSize)
            {
                nullOffset = (long)addr;
                string field = addr == 0 ? "a NULL pointer itself" : $"a NULL pointer plus offset 0x{addr:x} (a field of a struct reached through NULL)";
                explanation = $"{acc.Instruction} {what} 0x{addr:x} = {sum}: {field}{matchText}";
            }
            else if (Poison(addr, code.Architecture == "x86_64") is { } poison)
                explanation = $"{acc.Instruction} {what} 0x{addr:x} = {sum}: {poison}{matchText}";
            else
                explanation = $"{acc.Instruction} {what} 0x{addr:x} = {sum}{matchText}";
        }
        else
            explanation = $"{acc.Instruction} {what} {acc.Operand}: {(acc.BaseRegister == "RIP" ? "RIP-relative, the report prints no numeric RIP" : "a register it uses is not in the report's dump")}";
        return acc with { MatchesFaultAddress = matches, NullPointerOffset = nullOffset, Explanation = explanation };
    }

    /// <summary>The report's fault address, except CR2 in a general protection fault: a GPF sets no CR2, so it is stale.</summary>
    private static ulong? FaultAddress(List<OopsLine> lines, OopsDetails details)
    {
        bool gpf = lines.Any(l => l.Text.Contains("general protection fault", StringComparison.Ordinal));
        if (gpf && !lines.Any(l => l.Text.Contains("non-canonical address 0x", StringComparison.Ordinal))) return null;
        return details.FaultAddress;
    }

    private static bool IsX86Shadow(ulong addr, OopsCode code) =>
        code.Architecture == "x86_64" && addr >= X86KasanShadow && addr < X86KasanShadow + (1UL << 61) && addr < 0xffff800000000000;

    /// <summary>The kernel's poison values (include/linux/poison.h): a pointer read from freed or unlinked memory.</summary>
    private static string? Poison(ulong addr, bool x86 = true)
    {
        if ((addr >> 32) == 0xdead4ead) return "spinlock magic (0xdead4ead): a pointer read from a spinlock, so from a struct that is not what the code expects";
        if (addr is 0xdead000000000100 or 0xdead000000000122 || (addr & ~0xffUL) == 0xdead000000000100)
            return "LIST_POISON: a list entry used after list_del()";
        if ((addr >> 32) == 0x6b6b6b6b) return "slab free poison (0x6b): a pointer read from freed memory, use after free";
        if ((addr >> 32) == 0x5a5a5a5a || (addr >> 32) == 0xa5a5a5a5) return "slab poison: a pointer read from uninitialised or freed memory";
        if ((addr >> 32) == 0xcccccccc) return "KFENCE/redzone pattern: an out-of-bounds pointer";
        // x86_64 canonical addresses have bits 63..47 all equal.
        ulong top = addr >> 47;
        if (x86 && top != 0 && top != 0x1ffff && addr > 0xffffffff) return "a non-canonical address: a corrupted pointer";
        return null;
    }

    /// <summary>The <c>Modules linked in:</c> list with each module's taint letters.</summary>
    public static List<OopsModule> LinkedModules(List<OopsLine> lines)
    {
        var line = lines.FirstOrDefault(l => l.Text.StartsWith("Modules linked in:", StringComparison.Ordinal));
        return line is null ? new List<OopsModule>() : ParseModuleList(line.Text[18..]);
    }

    /// <summary>The text after <c>Modules linked in:</c>: <c>nvidia(POE) snd_hda_intel ... [last unloaded: x]</c>.</summary>
    public static List<OopsModule> ParseModuleList(string text)
    {
        var list = new List<OopsModule>();
        int last = text.IndexOf("[last unloaded", StringComparison.Ordinal);
        if (last >= 0) text = text[..last];
        foreach (var tok in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int paren = tok.IndexOf('(');
            string name = paren > 0 ? tok[..paren] : tok;
            string letters = paren > 0 && tok.EndsWith(')') ? tok[(paren + 1)..^1] : "";
            if (name.Length > 0) list.Add(new OopsModule { Name = name, TaintLetters = letters, Listed = true });
        }
        return list;
    }

    // syzkaller's guilty-file rules (pkg/report/linux.go guiltyFileIgnores): generic headers, libraries,
    // allocators, reporting, locking, scheduling and instrumentation are never the guilty file.
    private static readonly Regex NeverGuiltyFile = new(
        @"\.h$|^lib/|^virt/lib/|^mm/kasan/|^mm/kmsan/|^kernel/kcov\.c|^mm/sl.b\.c|^mm/percpu|^mm/vmalloc\.c|^mm/page_alloc\.c|^mm/util\.c|" +
        @"^kernel/rcu/|^arch/.*/kernel/traps\.c|^arch/.*/mm/fault\.c|^kernel/locking/|^kernel/panic\.c|^kernel/softirq\.c|^kernel/kthread\.c|" +
        @"^kernel/sched/.*\.c|^kernel/time/timer\.c|^kernel/workqueue\.c|^net/core/dev\.c|^net/core/sock\.c|^net/core/skbuff\.c|^fs/proc/generic\.c|" +
        @"^kernel/printk/|^kernel/kcsan/|^arch/.*/kernel/dumpstack|^kernel/stacktrace\.c|^arch/.*/entry/",
        RegexOptions.CultureInvariant);

    private static readonly Regex SourceLocation = new(
        @"(?:\+0x[0-9a-f]+/0x[0-9a-f]+|[A-Za-z0-9_.]+)(?: \[[^\]]+\])? (?<f>[A-Za-z0-9_.\-/]+\.(?:c|h|S|rs)):[0-9]+",
        RegexOptions.ExplicitCapture | RegexOptions.CultureInvariant);

    /// <summary>
    /// The guilty frame's source file and module: the frame named by the guilty function (RIP/pc or the trace),
    /// its file unless that file is never guilty (then the next frame's), its module with the taint letters the
    /// module list prints.
    /// </summary>
    private static (string? File, OopsModule? Module) Guilty(List<OopsLine> lines, OopsDetails details, string? guilty, List<OopsModule> modules)
    {
        var frames = new List<StackFrame>();
        if (IpFrame(lines) is { } ipf) frames.Add(ipf);
        frames.AddRange(details.Frames.Where(f => f.Reliable));
        int start = guilty is null ? -1 : frames.FindIndex(f => Names(f.Function, guilty));
        string? file = null;
        for (int i = Math.Max(start, 0); i < frames.Count && file is null; i++)
        {
            var f = frames[i];
            if (f.Source is null) continue;
            // Without the guilty frame in the trace, skip infrastructure frames as the guilty-frame rules do.
            if (start < 0 && OopsFormats.CommonSkipMatcher.IsMatch(SymbolDemangler.Demangle(f.Function))) continue;
            string path = FileOf(f.Source);
            if (!NeverGuiltyFile.IsMatch(path)) file = path;
        }
        // Else syzkaller's rule over the report text: the first file of a frame-like location that is not never-guilty
        // (lockdep's "at: func+0x../0x.. file:line" lines, arm's "(func+0x../0x.. file:line)", inline-only IP lines).
        for (int i = 0; i < lines.Count && file is null; i++)
        {
            string t = lines[i].Text;
            if (!t.Contains(".c:", StringComparison.Ordinal) && !t.Contains(".h:", StringComparison.Ordinal) && !t.Contains(".S:", StringComparison.Ordinal) && !t.Contains(".rs:", StringComparison.Ordinal)) continue;
            foreach (Match m in SourceLocation.Matches(t))
            {
                string path = FileOf(m.Groups["f"].Value);
                if (!NeverGuiltyFile.IsMatch(path)) { file = path; break; }
            }
        }
        OopsModule? module = null;
        if (start >= 0 && frames[start].Module is { } name)
        {
            string norm = name.Replace('-', '_');
            module = modules.FirstOrDefault(m => m.Name.Replace('-', '_') == norm) ?? new OopsModule { Name = name };
        }
        return (file, module);
    }

    private static bool Names(string function, string guilty)
    {
        if (function == guilty) return true;
        string f = OopsDescription.StripPrefix(SymbolDemangler.Demangle(function));
        if (f == guilty) return true;
        int dot = f.IndexOf('.');
        return dot > 0 && f[..dot] == guilty;
    }

    /// <summary><c>net/ipv6/ip6_output.c:1748</c> → <c>net/ipv6/ip6_output.c</c>, relative and clean.</summary>
    private static string FileOf(string source)
    {
        int colon = source.IndexOf(':');
        string p = colon > 0 ? source[..colon] : source;
        while (p.StartsWith("./", StringComparison.Ordinal)) p = p[2..];
        return p;
    }

    /// <summary>The RIP/pc line as a frame with its source (<c>RIP: 0010:foo+0x12/0x30 net/x.c:12</c>).</summary>
    private static StackFrame? IpFrame(List<OopsLine> lines)
    {
        foreach (var l in lines)
        {
            var m = IpLine.Match(l.Text);
            if (!m.Success || m.Groups["cs"].Value is "0033" or "0023" or "002b") continue;
            string rest = l.Text[m.Length..].Trim();
            // "[<ffffffff82d4e304>] __memset+0x24/0x30": the frame parser skips the address.
            var f = OopsDetails.ParseFrameLine(rest, null);
            if (f is not null) return f;
        }
        return null;
    }
}
