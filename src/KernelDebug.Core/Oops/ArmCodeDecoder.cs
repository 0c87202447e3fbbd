using System.Globalization;
using System.Text.RegularExpressions;
using KernelDebug.Core.Native;

namespace KernelDebug.Core.Oops;

/// <summary>arm64 and arm (ARM and Thumb) <c>Code:</c> words decoded with Capstone; load/store operands evaluated.</summary>
internal static class ArmCodeDecoder
{
    /// <summary>Decodes the line; never throws: without Capstone the code comes back not decoded, with the reason.</summary>
    public static OopsCode Decode(CodeLine line, bool arm64, ulong? markerAddress)
    {
        bool thumb = !arm64 && line.UnitBytes == 2;
        string arch = arm64 ? "arm64" : thumb ? "arm (Thumb)" : "arm";
        var bytes = line.Bytes;
        ulong baseAddr = markerAddress is { } ma && line.MarkerOffset is { } mo ? ma - (ulong)mo : 0;
        var decoded = LibCapstone.Decode(arm64 ? LibCapstone.ArchArm64 : LibCapstone.ArchArm,
            thumb ? LibCapstone.ModeThumb : LibCapstone.ModeArm, bytes, line.UnitBytes, !thumb, baseAddr);
        var common = new OopsCode
        {
            Architecture = arch,
            Marker = line.Marker is { } k ? (k == '<' ? "<>" : "()") : null,
            MarkerOffset = line.MarkerOffset,
            Bytes = bytes,
            Truncated = line.Truncated,
        };
        if (decoded is null) return NotDecoded(line, arm64, LibCapstone.Unavailable ?? "Capstone could not open a disassembler");
        var list = new List<CodeInstruction>();
        foreach (var (off, raw) in decoded)
        {
            var ins = Alias(raw, arm64);
            int len = ins.Size == 0 ? line.UnitBytes : ins.Size;
            list.Add(new CodeInstruction
            {
                Offset = off,
                RelativeOffset = off - (line.MarkerOffset ?? 0),
                Length = len,
                Bytes = X86CodeDecoder.Hex(bytes, off, len),
                Mnemonic = ins.Size == 0 ? "(bad)" : ins.Mnemonic,
                Operands = ins.Operands,
                Faulting = off == line.MarkerOffset,
                Address = markerAddress is null ? null : baseAddr + (ulong)off,
            });
        }
        return common with { Decoded = true, Instructions = list };
    }

    private static readonly Regex MovWide = new(@"^(?<rd>[wx][0-9]+|[wx]zr), #(?<imm>0x[0-9a-f]+|[0-9]+)(?:, lsl #(?<sh>[0-9]+))?$",
        RegexOptions.ExplicitCapture | RegexOptions.CultureInvariant);
    private static readonly Regex ArmAliasRegs = new(@"\bsb\b", RegexOptions.CultureInvariant);

    /// <summary>
    /// The names objdump and the kernel use where Capstone 4 differs: arm64 <c>movz</c>/<c>movn</c> as the
    /// <c>mov</c> alias with the shifted immediate, arm <c>sb</c> as <c>r9</c>.
    /// </summary>
    private static LibCapstone.Insn Alias(LibCapstone.Insn ins, bool arm64)
    {
        if (!arm64) return ins.Operands.Contains('s') ? ins with { Operands = ArmAliasRegs.Replace(ins.Operands, "r9") } : ins;
        if (ins.Mnemonic is not ("movz" or "movn") || MovWide.Match(ins.Operands) is not { Success: true } m) return ins;
        string immText = m.Groups["imm"].Value;
        bool hex = immText.StartsWith("0x", StringComparison.Ordinal);
        if (!ulong.TryParse(hex ? immText[2..] : immText, hex ? NumberStyles.AllowHexSpecifier : NumberStyles.None, CultureInfo.InvariantCulture, out ulong imm)) return ins;
        int sh = m.Groups["sh"].Success && int.TryParse(m.Groups["sh"].Value, CultureInfo.InvariantCulture, out int shv) ? shv & 63 : 0;
        bool w = m.Groups["rd"].Value[0] == 'w';
        // The alias does not apply to a zero immediate shifted by a non-zero amount (except movz #0, lsl #0).
        if (imm == 0 && sh != 0) return ins;
        ulong v = imm << sh;
        if (ins.Mnemonic == "movn") v = ~v;
        if (w) v &= 0xffff_ffff;
        string text = ins.Mnemonic == "movn" && (w ? (uint)v >= 0x8000_0000 : (long)v < 0)
            ? $"#-0x{(w ? (ulong)(uint)-(int)(uint)v : (ulong)-(long)v):x}" : $"#0x{v:x}";
        return ins with { Mnemonic = "mov", Operands = $"{m.Groups["rd"].Value}, {text}" };
    }

    /// <summary>The code of a line that no disassembler could decode here, with the reason.</summary>
    public static OopsCode NotDecoded(CodeLine line, bool arm64, string reason) => new()
    {
        Architecture = arm64 ? "arm64" : line.UnitBytes == 2 ? "arm (Thumb)" : "arm",
        Marker = line.Marker is { } k ? (k == '<' ? "<>" : "()") : null,
        MarkerOffset = line.MarkerOffset,
        Bytes = line.Bytes,
        Truncated = line.Truncated,
        Decoded = false,
        NotDecodedReason = reason,
    };

    // [base], [base, #imm], [base, #imm]!, [base], #imm (post-index), [base, idx], [base, idx, lsl #n], [base, widx, sxtw #n]
    private static readonly Regex MemOperand = new(
        @"\[(?<base>[a-z]+[0-9]*)(?:,\s*(?:#(?<imm>-?(?:0x)?[0-9a-f]+)|(?<neg>-)?(?<idx>[a-z]+[0-9]*)(?:,\s*(?<ext>lsl|[su]xt[wx]|asr|lsr)(?:\s*#(?<sh>\d+))?)?))?\](?<pre>!)?",
        RegexOptions.ExplicitCapture | RegexOptions.CultureInvariant);

    /// <summary>The memory operand of a load/store evaluated with the report's registers.</summary>
    public static FaultingAccess? Evaluate(OopsCode code, IReadOnlyDictionary<string, ulong> registers)
    {
        var fi = code.FaultingInstruction;
        if (fi is null || fi.Mnemonic == "(bad)") return null;
        var m = MemOperand.Match(fi.Operands);
        if (!m.Success || fi.Mnemonic.StartsWith("prfm", StringComparison.Ordinal)) return null;
        bool arm64 = code.Architecture == "arm64";
        string baseName = RegName(m.Groups["base"].Value, arm64);
        ulong? baseValue = Lookup(registers, baseName);
        long disp = 0;
        if (m.Groups["imm"].Success)
        {
            string imm = m.Groups["imm"].Value;
            bool neg = imm.StartsWith('-');
            if (neg) imm = imm[1..];
            bool hex = imm.StartsWith("0x", StringComparison.Ordinal);
            if (!long.TryParse(hex ? imm[2..] : imm, hex ? NumberStyles.AllowHexSpecifier : NumberStyles.None, CultureInfo.InvariantCulture, out disp)) return null;
            if (neg) disp = -disp;
            // Post-index and pre-index writeback: the access itself is at the base (post) or base+imm (pre).
        }
        string? indexName = m.Groups["idx"].Success ? RegName(m.Groups["idx"].Value, arm64) : null;
        ulong? indexValue = indexName is null ? null : Lookup(registers, indexName);
        int shift = m.Groups["sh"].Success && int.TryParse(m.Groups["sh"].Value, CultureInfo.InvariantCulture, out int sv) ? sv & 31 : 0;
        string ext = m.Groups["ext"].Value;
        if (indexValue is { } iv)
        {
            // A w-register index is 32 bits, sign- or zero-extended.
            if (ext == "sxtw") iv = (ulong)(long)(int)(uint)iv;
            else if (ext == "uxtw") iv = (uint)iv;
            if (m.Groups["neg"].Success) iv = (ulong)-(long)iv;
            indexValue = iv;
        }
        ulong? address = null;
        if (baseValue is not null && (indexName is null || indexValue is not null))
        {
            ulong a = baseValue.Value + ((indexValue ?? 0) << shift) + (ulong)disp;
            if (!arm64) a &= 0xffff_ffff;
            address = a;
        }
        return new FaultingAccess
        {
            Instruction = fi.Text,
            Operand = m.Value,
            Operation = fi.Mnemonic.StartsWith("ld", StringComparison.Ordinal) || fi.Mnemonic.StartsWith("cas", StringComparison.Ordinal)
                ? "Read" : fi.Mnemonic.StartsWith("st", StringComparison.Ordinal) ? "Write" : null,
            BaseRegister = baseName,
            BaseValue = baseValue,
            IndexRegister = indexName,
            IndexValue = indexValue,
            Scale = 1 << shift,
            Offset = disp,
            Address = address,
        };
    }

    private static ulong? Lookup(IReadOnlyDictionary<string, ulong> registers, string name) =>
        registers.TryGetValue(name, out ulong v) ? v : null;

    /// <summary>Capstone's register name as the report's dump names it (<c>w1</c> is <c>x1</c>; arm <c>sb</c> is <c>r9</c>).</summary>
    private static string RegName(string r, bool arm64)
    {
        if (arm64)
        {
            if (r.Length > 1 && r[0] == 'w' && char.IsAsciiDigit(r[1])) return "x" + r[1..];
            return r switch { "fp" => "x29", "wsp" => "sp", _ => r };
        }
        return r switch { "sb" => "r9", "sl" => "r10", "r11" => "fp", "r12" => "ip", "r13" => "sp", "r14" => "lr", _ => r };
    }
}
