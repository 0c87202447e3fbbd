using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using KernelDebug.Core.Native;
using KernelDebug.Core.Oops;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests.Oops;

/// <summary>
/// Every <c>Code:</c> line of the development corpus decoded by us and by binutils' objdump on the same bytes
/// from the same start offset: instruction by instruction, offsets, lengths and mnemonics must agree, and operands
/// where both print the same syntax (x86 AT&amp;T; arm with immediates normalised, objdump prints them in decimal).
/// </summary>
public sealed class OopsCodeOracleTests(ITestOutputHelper output)
{
    private static readonly Regex IpLine = new(@"(?:RIP|EIP):\s*(?<cs>[0-9a-f]{4}):", RegexOptions.CultureInvariant);
    private static readonly Regex ObjdumpLine = new(@"^\s*(?<off>[0-9a-f]+):\t(?<bytes>[0-9a-f ]+?)\s*(?:\t(?<text>.*))?$", RegexOptions.CultureInvariant);

    private static readonly Regex PrefixWord = new(@"^(?:rep|repz|repnz|repe|repne|lock|data16|data32|bnd|notrack|cs|ds|ss|es|fs|gs|addr32|addr16|rex(?:\.[WRXB]+)?|rex64|xacquire|xrelease)$", RegexOptions.CultureInvariant);

    private sealed record Row(int Offset, int Length, string Mnemonic, string Operands);

    [Fact]
    public void EveryCorpusCodeLine_MatchesObjdump()
    {
        string dir = Path.Combine(TestPaths.SharedFixtures, "oops", "syzkaller");
        if (!Directory.Exists(dir)) Assert.Skip($"crash corpus not found at {dir}");
        Assert.True(Tool("objdump"), "objdump (binutils) is the oracle and is installed with the build's apt packages");
        Assert.True(Tool("aarch64-linux-gnu-objdump"), "aarch64-linux-gnu-objdump (binutils-aarch64-linux-gnu, build.ps1 $AptTest) is missing");
        Assert.True(Tool("arm-linux-gnueabi-objdump"), "arm-linux-gnueabi-objdump (binutils-arm-linux-gnueabi, build.ps1 $AptTest) is missing");
        Assert.Null(LibCapstone.Unavailable);

        int lines = 0, withBytes = 0, decoded = 0, matched = 0, operandsCompared = 0, operandsMatched = 0, instructions = 0;
        var perArch = new SortedDictionary<string, (int Lines, int Matched)>(StringComparer.Ordinal);
        var misses = new StringBuilder();
        string tmp = Path.Combine(Path.GetTempPath(), $"kd-code-{Environment.ProcessId}.bin");
        try
        {
            foreach (var path in Directory.GetFiles(dir).Where(f => !Path.GetFileName(f).Contains('.')).Order(StringComparer.Ordinal))
            {
                var text = File.ReadAllText(path).Replace("\r", "").Split('\n');
                bool arm64File = text.Any(l => l.Contains("pstate:", StringComparison.Ordinal));
                for (int i = 0; i < text.Length; i++)
                {
                    int at = text[i].IndexOf("Code:", StringComparison.Ordinal);
                    if (at < 0 || (at > 0 && text[i][at - 1] != ' ' && text[i][at - 1] != ']')) continue;
                    lines++;
                    var line = CodeLine.Parse(text[i].AsSpan(at + 5));
                    if (line is null) continue;
                    withBytes++;
                    string where = $"{Path.GetFileName(path)}:{i + 1}";
                    OopsCode code;
                    string tool, machine;
                    if (line.UnitBytes == 1)
                    {
                        string? cs = null;
                        for (int k = i; k >= 0 && cs is null; k--)
                            if (IpLine.Match(text[k]) is { Success: true } m) cs = m.Groups["cs"].Value;
                        bool is32 = cs is "0023" or "0060" or "0073";
                        code = X86CodeDecoder.Decode(line, is32 ? 32 : 64, CodeSyntax.Att, null);
                        (tool, machine) = ("objdump", is32 ? "i386" : "i386:x86-64");
                    }
                    else
                    {
                        bool arm64 = line.UnitBytes == 4 && arm64File;
                        code = ArmCodeDecoder.Decode(line, arm64, null);
                        (tool, machine) = arm64 ? ("aarch64-linux-gnu-objdump", "aarch64") : ("arm-linux-gnueabi-objdump", "arm");
                        if (line.UnitBytes == 2) machine += " -M force-thumb";
                    }
                    if (!code.Decoded) { misses.AppendLine($"{where}: not decoded: {code.NotDecodedReason}"); continue; }
                    decoded++;
                    if (line.MarkerOffset is not null && code.FaultingInstruction is null)
                        misses.AppendLine($"{where}: the marked byte is not an instruction boundary");
                    File.WriteAllBytes(tmp, line.Bytes[code.StartOffset..]);
                    var theirs = Objdump(tool, machine, tmp, code.StartOffset);
                    bool ok = true;
                    foreach (var ours in code.Instructions)
                    {
                        instructions++;
                        var t = theirs.FirstOrDefault(r => r.Offset == ours.Offset);
                        if (t is null || t.Length != ours.Length || !SameMnemonic(ours.Mnemonic, t.Mnemonic))
                        {
                            ok = false;
                            misses.AppendLine($"{where} +{ours.Offset}: ours {ours.Length} '{ours.Text}', objdump {t?.Length} '{t?.Mnemonic} {t?.Operands}'");
                            break;
                        }
                        if (ours.Mnemonic == "(bad)") continue;
                        operandsCompared++;
                        if (Normalize(ours.Operands) == Normalize(t.Operands)) operandsMatched++;
                        else if (misses.Length < 20000) misses.AppendLine($"{where} +{ours.Offset}: operands '{ours.Operands}' vs objdump '{t.Operands}'");
                    }
                    // objdump decodes no instruction we dropped, except a cut tail.
                    int end = code.Instructions.Count == 0 ? code.StartOffset : code.Instructions[^1].Offset + code.Instructions[^1].Length;
                    if (ok && theirs.Any(r => r.Offset >= end && r.Offset + r.Length <= line.Bytes.Length && r.Mnemonic != "(bad)" && !code.Truncated && code.Instructions.LastOrDefault()?.Mnemonic != "(bad)"))
                    {
                        ok = false;
                        misses.AppendLine($"{where}: objdump decodes past our last instruction at +{end}");
                    }
                    if (ok) matched++;
                    var pa = perArch.GetValueOrDefault(code.Architecture);
                    perArch[code.Architecture] = (pa.Lines + 1, pa.Matched + (ok ? 1 : 0));
                }
            }
        }
        finally { File.Delete(tmp); }
        output.WriteLine($"Code: lines {lines}, with bytes {withBytes}, decoded {decoded}, matched objdump {matched} " +
            $"({instructions} instructions; operands equal {operandsMatched}/{operandsCompared})");
        foreach (var (arch, v) in perArch) output.WriteLine($"  {arch,-12} {v.Matched}/{v.Lines}");
        output.WriteLine(misses.ToString());
        Assert.True(withBytes > 400, $"only {withBytes} Code: lines with bytes found");
        Assert.Equal(withBytes, decoded);
        Assert.True(matched == decoded, $"{decoded - matched} Code: lines disagree with objdump:\n{misses}");
        Assert.True(operandsMatched == operandsCompared, $"{operandsCompared - operandsMatched} operands disagree with objdump:\n{misses}");
    }

    private static bool SameMnemonic(string ours, string theirs)
    {
        if (string.Equals(ours, theirs, StringComparison.OrdinalIgnoreCase)) return true;
        // Prefixes are spelled differently (objdump "cs nopw", "repnz repnz movl"; Iced "nopw %cs:", "repne movl"):
        // the instruction is the last word. Old binutils' "jmpq *"/"callq" is the same instruction as "jmp *"/"call".
        // A size suffix one prints and the other leaves out ("pushq"/"push", "lcalll"/"lcall") names the same instruction.
        static string Base(string m) => m[(m.LastIndexOf(' ') + 1)..];
        string a = Base(ours), b = Base(theirs);
        // C0-D3 /6 is the undocumented alias of /4: Iced names it sal, objdump shl.
        if (a.StartsWith("sal", StringComparison.Ordinal) && b.StartsWith("shl", StringComparison.Ordinal)) return a[3..] == b[3..];
        return a == b || (a.Length == b.Length + 1 && a.StartsWith(b, StringComparison.Ordinal) && a[^1] is 'q' or 'l' or 'w' or 'b')
            || (b.Length == a.Length + 1 && b.StartsWith(a, StringComparison.Ordinal) && b[^1] is 'q' or 'l' or 'w' or 'b');
    }

    /// <summary>Whitespace, objdump's <c># comment</c>, and arm immediates (decimal there, hex in Capstone) normalised.</summary>
    private static string Normalize(string operands)
    {
        int hash = operands.IndexOf("//", StringComparison.Ordinal);
        if (hash >= 0) operands = operands[..hash];
        hash = operands.IndexOf('#', StringComparison.Ordinal);
        if (hash >= 0 && operands.Contains('%', StringComparison.Ordinal)) operands = operands[..hash];
        hash = operands.IndexOf('@', StringComparison.Ordinal);
        if (hash >= 0) operands = operands[..hash];
        operands = Regex.Replace(operands, @"<[^>]*>", "");
        // arm immediates: objdump decimal, Capstone hex; branch targets without '#' in objdump.
        if (!operands.Contains('%', StringComparison.Ordinal))
        {
            operands = Regex.Replace(operands, @"(-?)0x([0-9a-f]+)", m => m.Groups[1].Value + Convert.ToUInt64(m.Groups[2].Value, 16));
            operands = operands.Replace("#", "");
        }
        // objdump's names for the same registers and operand: %db0-7 are %dr0-7; in/out print the port as (%dx).
        operands = Regex.Replace(operands, @"%db([0-7])", "%dr$1").Replace("(%dx)", "%dx").Replace(",1)", ")").Replace("%cs:", "")
            .Replace("%ds:", "").Replace("%es:", "")
            .Replace(",%eiz", "").Replace(",%riz", "");
        // Shifts by one (D1 /n): objdump leaves the implicit count out.
        if (operands.StartsWith("$0x1,", StringComparison.Ordinal)) operands = operands[5..];
        operands = Regex.Replace(operands, @"\s+", "");
        return operands.ToLowerInvariant();
    }

    private static List<Row> Objdump(string tool, string machine, string file, int vma)
    {
        // -z: objdump otherwise folds runs of zero bytes into "...".
        var args = $"-D -z -b binary -m {machine} --adjust-vma={vma} {file}";
        var psi = new ProcessStartInfo(tool, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        string text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{tool} {args} failed: {p.StandardError.ReadToEnd()}");
        var rows = new List<Row>();
        foreach (var l in text.Split('\n'))
        {
            var m = ObjdumpLine.Match(l);
            if (!m.Success) continue;
            int off = Convert.ToInt32(m.Groups["off"].Value, 16);
            int len = m.Groups["bytes"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Sum(b => b.Length / 2);
            if (!m.Groups["text"].Success || m.Groups["text"].Value.Trim().Length == 0)
            {
                // objdump wraps long instructions' bytes onto a second line without text.
                if (rows.Count > 0) rows[^1] = rows[^1] with { Length = rows[^1].Length + len };
                continue;
            }
            string t = m.Groups["text"].Value.Trim();
            int sp = t.IndexOfAny([' ', '\t']);
            string mnemonic = sp < 0 ? t : t[..sp];
            string operands = sp < 0 ? "" : t[sp..].Trim();
            // Prefixes objdump prints as part of the text (rep, lock, data16, bnd, notrack): keep them with the mnemonic.
            while (PrefixWord.IsMatch(mnemonic.Split(' ')[^1]) && operands.Length > 0)
            {
                int sp2 = operands.IndexOfAny([' ', '\t']);
                string next = sp2 < 0 ? operands : operands[..sp2];
                mnemonic += " " + next;
                operands = sp2 < 0 ? "" : operands[sp2..].Trim();
            }
            rows.Add(new Row(off, len, mnemonic, operands));
        }
        // A REX prefix followed by another prefix is ignored by the CPU; objdump prints it as an instruction of
        // its own ("rex.W"), Iced as part of the instruction it precedes: join them.
        for (int i = rows.Count - 2; i >= 0; i--)
            if (rows[i].Operands.Length == 0 && rows[i].Mnemonic.StartsWith("rex", StringComparison.Ordinal) && PrefixWord.IsMatch(rows[i].Mnemonic))
            {
                rows[i] = rows[i + 1] with { Offset = rows[i].Offset, Length = rows[i].Length + rows[i + 1].Length };
                rows.RemoveAt(i + 1);
            }
        return rows;
    }

    private static bool Tool(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, name)));
}
