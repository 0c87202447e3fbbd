using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Symbols;

/// <summary>
/// A kernel address as a user wrote it: a number (hex, with or without 0x) or a symbol with an offset as %pS
/// prints it (<c>func+0x1a/0x40 [module]</c>), which needs a symbol table to become a number.
/// </summary>
public sealed record KernelAddressText
{
    /// <summary>The address, when given as a number.</summary>
    public ulong? Address { get; private init; }
    /// <summary>The symbolic form, when given as func+off.</summary>
    public StackFrame? Symbol { get; private init; }
    /// <summary>The text as given (hex for numbers).</summary>
    public required string Text { get; init; }

    /// <summary>A numeric address.</summary>
    public static KernelAddressText FromAddress(ulong address) => new() { Address = address, Text = $"0x{address:x}" };

    /// <summary>
    /// Parses hex with or without 0x (a bare string of hex digits is read as hex: kernel addresses are always
    /// printed in hex), <c>&lt;ffffffff81234567&gt;</c> / <c>[&lt;...&gt;]</c>, or <c>func[+0xoff[/0xsize]] [[module]]</c>.
    /// </summary>
    public static bool TryParse(string text, out KernelAddressText? result)
    {
        result = null;
        var s = text.AsSpan().Trim();
        if (s.StartsWith("[") && s.EndsWith("]")) s = s[1..^1];
        if (s.StartsWith("<") && s.EndsWith(">")) s = s[1..^1];
        if (s.IsEmpty) return false;
        if (Fields.TryHex(s, out ulong a)) { result = new() { Address = a, Text = text.Trim() }; return true; }
        if (StackFrame.TryParse(s) is { } f && !char.IsAsciiDigit(f.Function[0])) { result = new() { Symbol = f, Text = text.Trim() }; return true; }
        return false;
    }

    /// <summary>
    /// The numeric address: the number as given, or the symbol's address plus the offset in <paramref name="table"/>
    /// (the module must match when given). Null when the symbol is not in the table.
    /// </summary>
    public ulong? ResolveIn(KernelSymbolTable table)
    {
        if (Address is { } a) return a;
        var f = Symbol!;
        var sym = table.Find(n => n == f.Function).FirstOrDefault(s => f.Module is null || s.Module == f.Module);
        return sym is null ? null : sym.Address + (ulong)(f.Offset ?? 0);
    }

    /// <inheritdoc />
    public override string ToString() => Text;
}
