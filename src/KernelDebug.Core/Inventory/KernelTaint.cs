namespace KernelDebug.Core.Inventory;

/// <summary>One taint flag the kernel can set (Documentation/admin-guide/tainted-kernels.rst).</summary>
/// <param name="Bit">Bit number in <c>/proc/sys/kernel/tainted</c>.</param>
/// <param name="Letter">The letter printed in oops headers ("Tainted: G W").</param>
/// <param name="Meaning">What set it.</param>
public sealed record TaintFlag(int Bit, char Letter, string Meaning)
{
    /// <inheritdoc />
    public override string ToString() => $"{Letter} ({Meaning})";
}

/// <summary>A kernel taint value decoded into its flags.</summary>
public sealed record KernelTaint
{
    /// <summary>Every flag this module knows, by bit.</summary>
    public static IReadOnlyList<TaintFlag> KnownFlags { get; } = new TaintFlag[]
    {
        new(0, 'P', "proprietary module was loaded"),
        new(1, 'F', "module was force loaded"),
        new(2, 'S', "kernel running on an out of specification system"),
        new(3, 'R', "module was force unloaded"),
        new(4, 'M', "processor reported a Machine Check Exception"),
        new(5, 'B', "bad page referenced or some unexpected page flags"),
        new(6, 'U', "taint requested by userspace application"),
        new(7, 'D', "kernel died recently, i.e. there was an OOPS or BUG"),
        new(8, 'A', "an ACPI table was overridden by user"),
        new(9, 'W', "kernel issued warning"),
        new(10, 'C', "staging driver was loaded"),
        new(11, 'I', "workaround for bug in platform firmware applied"),
        new(12, 'O', "externally-built (out-of-tree) module was loaded"),
        new(13, 'E', "unsigned module was loaded"),
        new(14, 'L', "soft lockup occurred"),
        new(15, 'K', "kernel has been live patched"),
        new(16, 'X', "auxiliary taint, defined for and used by distros"),
        new(17, 'T', "kernel was built with the struct randomization plugin"),
        new(18, 'N', "an in-kernel test has been run"),
        new(19, 'J', "userspace used a mutating debug operation in fwctl"),
    };

    /// <summary>The raw taint number.</summary>
    public ulong Value { get; init; }

    /// <summary>The flags that are set.</summary>
    public IReadOnlyList<TaintFlag> Flags { get; init; } = Array.Empty<TaintFlag>();

    /// <summary>The flags as letters, as an oops header prints them, e.g. "GW"; empty when untainted.</summary>
    public string Letters => string.Concat(Flags.Select(f => f.Letter));

    /// <summary>True when any flag is set.</summary>
    public bool IsTainted => Value != 0;

    /// <summary>Decodes a taint number.</summary>
    public static KernelTaint FromValue(ulong value) => new()
    {
        Value = value,
        Flags = KnownFlags.Where(f => (value & (1UL << f.Bit)) != 0).ToArray(),
    };

    /// <summary>
    /// Decodes the letters of an oops header ("G        W  O      "): 'G' (the absence of 'P') and blanks set nothing.
    /// Unknown letters are ignored.
    /// </summary>
    public static KernelTaint FromLetters(ReadOnlySpan<char> letters)
    {
        ulong v = 0;
        foreach (char c in letters)
        {
            if (c == 'G' || c == ' ') continue;
            foreach (var f in KnownFlags)
                if (f.Letter == c) { v |= 1UL << f.Bit; break; }
        }
        return FromValue(v);
    }

    /// <inheritdoc />
    public override string ToString() => Value == 0 ? "0" : $"{Value} ({Letters})";
}
