using Iced.Intel;
using IcedDecoder = Iced.Intel.Decoder;

namespace KernelDebug.Core.Oops;

/// <summary>x86 <c>Code:</c> bytes decoded with Iced, and the faulting instruction's memory operand evaluated.</summary>
internal static class X86CodeDecoder
{
    /// <summary>
    /// The first start offset from which decoding lands exactly on the marked byte, as scripts/decodecode tries
    /// successive offsets (a <c>Code:</c> line starts at RIP-42, usually inside an instruction). 0 without a marker.
    /// </summary>
    public static int FindStart(ReadOnlySpan<byte> bytes, int? marker, int bitness)
    {
        if (marker is not { } m || m <= 0 || m > bytes.Length) return 0;
        var arr = bytes.ToArray();
        for (int s = 0; s < m; s++)
        {
            var dec = IcedDecoder.Create(bitness, new ByteArrayCodeReader(arr, s, m - s), (ulong)s, DecoderOptions.None);
            bool ok = true;
            while (dec.IP < (ulong)m)
            {
                dec.Decode(out var ins);
                if (ins.IsInvalid) { ok = false; break; }
            }
            if (ok && dec.IP == (ulong)m) return s;
        }
        return m;
    }

    /// <summary>Decodes the line; <paramref name="markerAddress"/> is the faulting instruction's address when the report prints it.</summary>
    public static OopsCode Decode(CodeLine line, int bitness, CodeSyntax syntax, ulong? markerAddress)
    {
        var bytes = line.Bytes;
        int start = FindStart(bytes, line.MarkerOffset, bitness);
        // With a known faulting address, instructions carry real addresses and RIP-relative operands resolve.
        ulong baseIp = markerAddress is { } ma && line.MarkerOffset is { } mo ? ma - (ulong)mo : 0;
        var dec = IcedDecoder.Create(bitness, new ByteArrayCodeReader(bytes, start, bytes.Length - start), baseIp + (ulong)start, DecoderOptions.None);
        var formatter = CreateFormatter(syntax);
        var list = new List<CodeInstruction>();
        bool truncated = line.Truncated;
        while (dec.IP < baseIp + (ulong)bytes.Length)
        {
            dec.Decode(out var ins);
            int off = (int)(ins.IP - baseIp);
            if (ins.IsInvalid)
            {
                // Bytes that end mid-instruction are a cut line; anything else is data after a trap (BUG tables).
                if (dec.LastError == DecoderError.NoMoreBytes) truncated = true;
                else list.Add(Bad(bytes, off, line.MarkerOffset, markerAddress is null ? null : ins.IP));
                break;
            }
            var output = new StringOutput();
            formatter.FormatMnemonic(ins, output);
            string mnemonic = output.ToStringAndReset();
            formatter.FormatAllOperands(ins, output);
            list.Add(new CodeInstruction
            {
                Offset = off,
                RelativeOffset = off - (line.MarkerOffset ?? 0),
                Length = ins.Length,
                Bytes = Hex(bytes, off, ins.Length),
                Mnemonic = mnemonic,
                Operands = output.ToStringAndReset(),
                Faulting = off == line.MarkerOffset,
                Address = markerAddress is null ? null : ins.IP,
            });
        }
        return new OopsCode
        {
            Architecture = bitness == 64 ? "x86_64" : "i386",
            Decoded = true,
            Syntax = syntax,
            Marker = line.Marker is { } k ? (k == '<' ? "<>" : "()") : null,
            StartOffset = start,
            MarkerOffset = line.MarkerOffset,
            Bytes = bytes,
            Truncated = truncated,
            Instructions = list,
        };
    }

    private static CodeInstruction Bad(byte[] bytes, int off, int? marker, ulong? address) => new()
    {
        Offset = off, RelativeOffset = off - (marker ?? 0), Length = 1, Bytes = Hex(bytes, off, 1), Mnemonic = "(bad)",
        Faulting = off == marker, Address = address,
    };

    public static string Hex(byte[] bytes, int off, int len) =>
        string.Join(' ', bytes.Skip(off).Take(len).Select(b => b.ToString("x2")));

    private static Formatter CreateFormatter(CodeSyntax syntax)
    {
        Formatter f = syntax == CodeSyntax.Att ? new GasFormatter() : new IntelFormatter();
        f.Options.UppercaseHex = false;
        // As objdump prints them: every prefix, no branch-size keyword or leading zeros, RIP-relative as disp(%rip).
        f.Options.ShowUselessPrefixes = true;
        f.Options.ShowBranchSize = false;
        f.Options.BranchLeadingZeros = false;
        f.Options.RipRelativeAddresses = true;
        if (syntax == CodeSyntax.Att)
        {
            f.Options.SmallHexNumbersInDecimal = false;
            f.Options.ShowZeroDisplacements = true;
        }
        else
        {
            f.Options.SpaceAfterOperandSeparator = true;
            f.Options.MemorySizeOptions = MemorySizeOptions.Always;
        }
        return f;
    }

    /// <summary>Re-decodes the marked instruction and evaluates its memory operand with the report's registers.</summary>
    public static FaultingAccess? Evaluate(OopsCode code, int bitness, IReadOnlyDictionary<string, ulong> registers, CodeSyntax syntax)
    {
        var fi = code.FaultingInstruction;
        if (fi is null || fi.Mnemonic == "(bad)") return null;
        var bytes = code.Bytes is byte[] b ? b : code.Bytes.ToArray();
        ulong ip = fi.Address ?? (ulong)fi.Offset;
        var dec = IcedDecoder.Create(bitness, new ByteArrayCodeReader(bytes, fi.Offset, bytes.Length - fi.Offset), ip, DecoderOptions.None);
        dec.Decode(out var ins);
        if (ins.IsInvalid || ins.Mnemonic is Mnemonic.Lea || ins.Mnemonic.ToString().StartsWith("Nop", StringComparison.Ordinal)) return null;
        int op = -1;
        for (int i = 0; i < ins.OpCount && op < 0; i++)
            if (ins.GetOpKind(i) is OpKind.Memory or OpKind.MemorySegSI or OpKind.MemorySegESI or OpKind.MemorySegRSI
                or OpKind.MemorySegDI or OpKind.MemorySegEDI or OpKind.MemorySegRDI or OpKind.MemoryESDI or OpKind.MemoryESEDI or OpKind.MemoryESRDI)
                op = i;
        if (op < 0) return null;
        var kind = ins.GetOpKind(op);
        Register baseReg = ins.MemoryBase, indexReg = ins.MemoryIndex;
        int scale = ins.MemoryIndexScale;
        long disp = bitness == 64 ? (long)ins.MemoryDisplacement64 : (int)ins.MemoryDisplacement32;
        switch (kind)
        {
            case OpKind.MemorySegSI or OpKind.MemorySegESI or OpKind.MemorySegRSI:
                baseReg = bitness == 64 ? Register.RSI : Register.ESI; indexReg = Register.None; disp = 0; break;
            case OpKind.MemorySegDI or OpKind.MemorySegEDI or OpKind.MemorySegRDI or OpKind.MemoryESDI or OpKind.MemoryESEDI or OpKind.MemoryESRDI:
                baseReg = bitness == 64 ? Register.RDI : Register.EDI; indexReg = Register.None; disp = 0; break;
        }
        var formatter = CreateFormatter(syntax);
        var sout = new StringOutput();
        // Formatter operands are in printed order (AT&T reverses them): map the instruction's operand.
        // An implicit memory operand (xlat, string ops in some forms) is not printed: show all operands then.
        int fop = formatter.GetFormatterOperand(ins, op);
        if (fop >= 0) formatter.FormatOperand(ins, sout, fop); else formatter.FormatAllOperands(ins, sout);
        string operand = sout.ToStringAndReset();

        bool ripRelative = ins.IsIPRelativeMemoryOperand;
        string? baseName = baseReg == Register.None || ripRelative ? null : RegName(baseReg, bitness);
        string? indexName = indexReg == Register.None ? null : RegName(indexReg, bitness);
        ulong? baseValue = baseName is null ? null : Lookup(registers, baseName);
        ulong? indexValue = indexName is null ? null : Lookup(registers, indexName);
        string? segment = ins.MemorySegment is Register.FS or Register.GS && ins.SegmentPrefix != Register.None
            ? ins.MemorySegment.ToString().ToLowerInvariant() : null;
        if (ripRelative)
        {
            // The displacement Iced reports for RIP-relative operands is already the target address.
            baseName = "RIP";
            baseValue = fi.Address is null ? null : ins.NextIP;
            disp = (long)(ins.IPRelativeMemoryAddress - ins.NextIP);
        }
        ulong? address = null;
        bool complete = (baseName is null || baseValue is not null) && (indexName is null || indexValue is not null);
        if (complete)
        {
            ulong a = (baseValue ?? 0) + (indexValue ?? 0) * (ulong)scale + (ulong)disp;
            if (segment is not null)
            {
                // Per-CPU data: the segment base is printed as FS:/GS: in the register dump.
                if (Lookup(registers, segment.ToUpperInvariant()) is { } sb) a += sb; else complete = false;
            }
            if (bitness == 32) a &= 0xffff_ffff;
            if (complete) address = a;
        }
        string? operation = new InstructionInfoFactory().GetInfo(ins).GetOpAccess(op) switch
        {
            OpAccess.Read or OpAccess.CondRead => "Read",
            OpAccess.Write or OpAccess.CondWrite => "Write",
            OpAccess.ReadWrite or OpAccess.ReadCondWrite => "ReadWrite",
            _ => null,
        };
        return new FaultingAccess
        {
            Instruction = fi.Text,
            Operand = operand,
            Operation = operation,
            Segment = segment,
            BaseRegister = baseName,
            BaseValue = baseValue,
            IndexRegister = indexName,
            IndexValue = indexValue,
            Scale = indexName is null ? 1 : scale,
            Offset = disp,
            Address = address,
        };
    }

    private static ulong? Lookup(IReadOnlyDictionary<string, ulong> registers, string name) =>
        registers.TryGetValue(name, out ulong v) ? v : null;

    /// <summary>The register's name in the report's dump: full width, <c>R08</c> for r8.</summary>
    private static string RegName(Register r, int bitness)
    {
        var full = bitness == 64 ? r.GetFullRegister() : r.GetFullRegister32();
        string n = full.ToString();
        return n.Length == 2 && n[0] == 'R' && char.IsAsciiDigit(n[1]) ? "R0" + n[1] : n;
    }
}
