using KernelDebug.Core.Inventory;

namespace KernelDebug.Core.Oops;

/// <summary>Assembly syntax of decoded x86 code.</summary>
public enum CodeSyntax
{
    /// <summary>Intel syntax (<c>mov rax, qword ptr [rbx+10h]</c>), the default.</summary>
    Intel,
    /// <summary>AT&amp;T syntax as objdump and the kernel's decodecode print it (<c>mov 0x10(%rbx),%rax</c>).</summary>
    Att,
}

/// <summary>One instruction decoded from a report's <c>Code:</c> line.</summary>
public sealed record CodeInstruction
{
    /// <summary>Byte offset of the instruction from the first byte of the <c>Code:</c> line.</summary>
    public int Offset { get; init; }
    /// <summary>Offset relative to the faulting instruction (0 for it, negative before it).</summary>
    public int RelativeOffset { get; init; }
    /// <summary>Length in bytes.</summary>
    public int Length { get; init; }
    /// <summary>The instruction's bytes in hex, space separated.</summary>
    public required string Bytes { get; init; }
    /// <summary>Mnemonic (<c>mov</c>, <c>ldr</c>, ...).</summary>
    public required string Mnemonic { get; init; }
    /// <summary>Operands as formatted in <see cref="OopsCode.Syntax"/>.</summary>
    public string Operands { get; init; } = "";
    /// <summary>True for the instruction the report marks (<c>&lt;..&gt;</c> or <c>(..)</c>): the one that faulted or trapped.</summary>
    public bool Faulting { get; init; }
    /// <summary>The instruction's kernel address, when the report prints the faulting address (RIP/pc as a number).</summary>
    public ulong? Address { get; init; }

    /// <summary>Mnemonic and operands.</summary>
    public string Text => Operands.Length == 0 ? Mnemonic : $"{Mnemonic} {Operands}";

    /// <summary>"+0x3: mov rax, qword ptr [rbx+10h]", the faulting one marked with <c>&lt;--</c>.</summary>
    public override string ToString() =>
        $"{(RelativeOffset < 0 ? "-" : "+")}0x{Math.Abs(RelativeOffset):x}: {Text}{(Faulting ? "  <-- faulting" : "")}";
}

/// <summary>The decoded <c>Code:</c> bytes of a report: the instructions around the faulting one.</summary>
public sealed record OopsCode
{
    /// <summary>Instruction set: <c>x86_64</c>, <c>i386</c>, <c>arm64</c> or <c>arm</c>.</summary>
    public required string Architecture { get; init; }
    /// <summary>True when the bytes were disassembled.</summary>
    public bool Decoded { get; init; }
    /// <summary>Why the code is not decoded (no disassembler for the architecture, library missing, no bytes), else null.</summary>
    public string? NotDecodedReason { get; init; }
    /// <summary><c>Intel</c> or <c>Att</c> for x86; arm code has one syntax.</summary>
    public CodeSyntax Syntax { get; init; }
    /// <summary>How the faulting instruction is marked: <c>&lt;&gt;</c> (the faulting byte) or <c>()</c> (the trapping instruction of a BUG/UD2/BRK).</summary>
    public string? Marker { get; init; }
    /// <summary>Byte offset of the marked unit in <see cref="Bytes"/>, when the line marks one.</summary>
    public int? MarkerOffset { get; init; }
    /// <summary>Bytes skipped at the start: x86 <c>Code:</c> lines often start inside an instruction; decoding starts where the faulting byte is an instruction boundary, as the kernel's scripts/decodecode does.</summary>
    public int StartOffset { get; init; }
    /// <summary>True when this is the user task's code (RIP in CS 0033/0023 after a syscall), the only Code: line of the report: no kernel instruction faulted here.</summary>
    public bool UserMode { get; init; }
    /// <summary>The raw bytes, as in the report (without markers).</summary>
    public IReadOnlyList<byte> Bytes { get; init; } = Array.Empty<byte>();
    /// <summary>True when the line ended inside an instruction or in unparsable text (a cut console line).</summary>
    public bool Truncated { get; init; }
    /// <summary>The decoded instructions, in order.</summary>
    public IReadOnlyList<CodeInstruction> Instructions { get; init; } = Array.Empty<CodeInstruction>();

    /// <summary>The marked instruction, when decoded.</summary>
    public CodeInstruction? FaultingInstruction => Instructions.FirstOrDefault(i => i.Faulting);

    /// <summary>Flat text for CSV: instructions joined by "; ", the faulting one between <c>&lt;</c> and <c>&gt;</c>.</summary>
    public string Text => Decoded
        ? string.Join("; ", Instructions.Select(i => i.Faulting ? $"<{i.Text}>" : i.Text))
        : $"not decoded: {NotDecodedReason}";

    /// <inheritdoc />
    public override string ToString() => Text;
}

/// <summary>
/// The memory operand of the faulting instruction evaluated with the report's registers: which pointer was
/// dereferenced, at what offset, and whether that is the address the fault reports.
/// </summary>
public sealed record FaultingAccess
{
    /// <summary>The faulting instruction's text.</summary>
    public required string Instruction { get; init; }
    /// <summary>The memory operand as written (<c>[rbx+10h]</c>, <c>0x10(%rbx)</c>, <c>[x1, #0x18]</c>).</summary>
    public required string Operand { get; init; }
    /// <summary><c>Read</c>, <c>Write</c> or <c>ReadWrite</c>, when the instruction says.</summary>
    public string? Operation { get; init; }
    /// <summary>Segment override (<c>gs</c> for per-CPU data), when present.</summary>
    public string? Segment { get; init; }
    /// <summary>Base register as the report names it (<c>RBX</c>, <c>x1</c>), when the operand has one.</summary>
    public string? BaseRegister { get; init; }
    /// <summary>The base register's value in the report's register dump.</summary>
    public ulong? BaseValue { get; init; }
    /// <summary>Index register, when the operand has one.</summary>
    public string? IndexRegister { get; init; }
    /// <summary>The index register's value.</summary>
    public ulong? IndexValue { get; init; }
    /// <summary>Index scale (1, 2, 4, 8; arm shift as a multiplier).</summary>
    public int Scale { get; init; } = 1;
    /// <summary>Displacement (field offset) added to the base, signed.</summary>
    public long Offset { get; init; }
    /// <summary>The computed address, when every register involved is in the dump.</summary>
    public ulong? Address { get; init; }
    /// <summary>True when <see cref="Address"/> equals the report's fault address (CR2, page-fault or non-canonical address); null when either is unknown.</summary>
    public bool? MatchesFaultAddress { get; init; }
    /// <summary>When the access is a NULL pointer plus a field offset: that offset (also through a KASAN shadow check).</summary>
    public long? NullPointerOffset { get; init; }
    /// <summary>One sentence saying what the access was.</summary>
    public string? Explanation { get; init; }

    /// <summary><see cref="Address"/> in hex.</summary>
    public string? AddressHex => Address is { } a ? $"0x{a:x}" : null;
    /// <summary><see cref="BaseValue"/> in hex.</summary>
    public string? BaseValueHex => BaseValue is { } b ? $"0x{b:x}" : null;
    /// <summary><see cref="Offset"/> in hex (signed).</summary>
    public string OffsetHex => Offset < 0 ? $"-0x{-Offset:x}" : $"0x{Offset:x}";

    /// <inheritdoc />
    public override string ToString() => Explanation ?? $"{Operand} -> {AddressHex ?? "unknown"}";
}

/// <summary>A module of the <c>Modules linked in:</c> list, with its taint letters.</summary>
public sealed record OopsModule
{
    /// <summary>Module name.</summary>
    public required string Name { get; init; }
    /// <summary>The letters printed after the name (<c>POE</c> of <c>nvidia(POE)</c>), empty when none.</summary>
    public string TaintLetters { get; init; } = "";
    /// <summary>The letters decoded.</summary>
    public KernelTaint Taint => KernelTaint.FromLetters(TaintLetters.Replace("+", "").Replace("-", ""));
    /// <summary>Proprietary licence (P): the kernel community cannot debug it.</summary>
    public bool Proprietary => TaintLetters.Contains('P');
    /// <summary>Built outside the kernel tree (O).</summary>
    public bool OutOfTree => TaintLetters.Contains('O');
    /// <summary>Not signed (E).</summary>
    public bool Unsigned => TaintLetters.Contains('E');
    /// <summary>A staging driver (C).</summary>
    public bool Staging => TaintLetters.Contains('C');
    /// <summary>True when the module was listed in <c>Modules linked in:</c>.</summary>
    public bool Listed { get; init; }

    /// <summary>"nvidia(POE)".</summary>
    public override string ToString() => TaintLetters.Length == 0 ? Name : $"{Name}({TaintLetters})";
}
