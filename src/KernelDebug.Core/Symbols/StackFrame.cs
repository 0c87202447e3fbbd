using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Symbols;

/// <summary>
/// One frame of a kernel stack, as an oops, <c>/proc/PID/stack</c> or a BPF stack map gives it:
/// <c>? func+0x1a/0x40 [module]</c>. The same type serves Get-KernelOops, Get-BlockedTask and the BPF tools.
/// </summary>
public sealed record StackFrame
{
    /// <summary>Function name (without any <c>.cold</c>/<c>.isra.0</c> suffix stripped: it is kept as printed).</summary>
    public required string Function { get; init; }
    /// <summary>Offset into the function in bytes, when printed.</summary>
    public long? Offset { get; init; }
    /// <summary>Size of the function in bytes, when printed.</summary>
    public long? Size { get; init; }
    /// <summary>Module the function is in, or null for the core kernel.</summary>
    public string? Module { get; init; }
    /// <summary>False for frames the unwinder marked unreliable (<c>?</c>).</summary>
    public bool Reliable { get; init; } = true;
    /// <summary>Which stack the frame is on (e.g. IRQ, task, exception, NMI, SOFTIRQ), when the report says.</summary>
    public string? Context { get; init; }
    /// <summary>Instruction address, when printed or known.</summary>
    public ulong? Address { get; init; }
    /// <summary>Address in hex as the kernel prints it (0x...); Address stays numeric for filtering.</summary>
    public string? AddressHex => Flat.Hex(Address);
    /// <summary>Source file and line, when the report carries them (<c>mm/slub.c:123</c>).</summary>
    public string? Source { get; init; }

    /// <summary>"func+0x1a/0x40 [mod]".</summary>
    public override string ToString()
    {
        string s = Function;
        if (Offset is { } o) s += Size is { } z ? $"+0x{o:x}/0x{z:x}" : $"+0x{o:x}";
        if (Module is not null) s += $" [{Module}]";
        return Reliable ? s : "? " + s;
    }

    /// <summary>
    /// Parses the symbolic part of a frame: <c>[?] func[+0xOFF[/0xSIZE]] [[module]]</c>, with any text before it
    /// (addresses in brackets such as <c>[&lt;0&gt;]</c> or <c>[&lt;ffffffff81234567&gt;]</c>) already removed.
    /// Returns null when the text is not a frame.
    /// </summary>
    public static StackFrame? TryParse(ReadOnlySpan<char> text, string? context = null)
    {
        text = text.Trim();
        bool reliable = true;
        if (text.StartsWith("? ")) { reliable = false; text = text[2..].TrimStart(); }
        if (text.IsEmpty) return null;
        string? module = null;
        int modStart = text.IndexOf(" [");
        if (modStart > 0 && text[^1] == ']')
        {
            module = text[(modStart + 2)..^1].Trim().ToString();
            text = text[..modStart];
        }
        int plus = text.IndexOf('+');
        var name = plus < 0 ? text : text[..plus];
        if (name.IsEmpty || !IsSymbol(name)) return null;
        long? off = null, size = null;
        if (plus >= 0)
        {
            var rest = text[(plus + 1)..];
            int slash = rest.IndexOf('/');
            var offText = slash < 0 ? rest : rest[..slash];
            if (!Fields.TryHex(offText, out ulong o) || !Fields.TryToLong(o, out long ol)) return null;
            off = ol;
            if (slash >= 0)
            {
                if (!Fields.TryHex(rest[(slash + 1)..], out ulong z) || !Fields.TryToLong(z, out long zl)) return null;
                size = zl;
            }
        }
        return new StackFrame { Function = name.ToString(), Offset = off, Size = size, Module = module, Reliable = reliable, Context = context };
    }

    private static bool IsSymbol(ReadOnlySpan<char> s)
    {
        foreach (char c in s)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '$')) return false;
        return true;
    }
}
