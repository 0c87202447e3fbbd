using System.Collections.Concurrent;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Symbols;

/// <summary>One line of <c>/proc/kallsyms</c>: a kernel or module symbol with its address and size.</summary>
public sealed record KernelSymbol
{
    /// <summary>Symbol name.</summary>
    public required string Name { get; init; }
    /// <summary>Start address.</summary>
    public ulong Address { get; init; }
    /// <summary>Address in hex as the kernel prints it (0x...); Address stays numeric for filtering.</summary>
    public string? AddressHex => Flat.Hex(Address);
    /// <summary>nm-style type letter: T/t text, D/d data, B/b bss, R/r read-only, W/w weak.</summary>
    public char Type { get; init; }
    /// <summary>Module that defines it, or null for the core kernel.</summary>
    public string? Module { get; init; }
    /// <summary>Size in bytes up to the next symbol (kallsyms has no sizes; this is how the kernel's own %pS computes it).</summary>
    public long Size { get; init; }
    /// <summary>True for code (T/t/W/w).</summary>
    public bool IsFunction => Type is 'T' or 't' or 'W' or 'w';
    /// <summary>True when visible outside its compilation unit (upper-case type).</summary>
    public bool IsGlobal => char.IsUpper(Type);

    /// <inheritdoc />
    public override string ToString() => Module is null ? $"{Address:x16} {Type} {Name}" : $"{Address:x16} {Type} {Name} [{Module}]";
}

/// <summary>An address resolved to a symbol: <c>func+0x1a/0x40 [module]</c>.</summary>
public sealed record SymbolLocation(ulong Address, KernelSymbol Symbol, long Offset)
{
    /// <summary>As a stack frame (the type oops reports and BPF stacks share).</summary>
    public StackFrame ToFrame() => new() { Function = Symbol.Name, Offset = Offset, Size = Symbol.Size, Module = Symbol.Module, Address = Address };

    /// <inheritdoc />
    public override string ToString() => ToFrame().ToString();
}

/// <summary>Parses <c>/proc/kallsyms</c>: <c>ffffffff81000000 T _text</c>, module symbols with a trailing <c>\t[module]</c>.</summary>
public static class KallsymsParser
{
    /// <summary>Parses every line; malformed lines become issues.</summary>
    public static List<KernelSymbol> Parse(TextReader reader, ParseContext ctx)
    {
        var list = new List<KernelSymbol>(150_000);
        int n = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            n++;
            var s = line.AsSpan();
            if (s.IsWhiteSpace()) continue;
            var f = Fields.Split(s);
            var addr = f.Next(); var type = f.Next(); var name = f.Next(); var mod = f.Next();
            if (name.IsEmpty || type.Length != 1 || !Fields.TryHex(addr, out ulong a))
            {
                ctx.Warn(n, "expected 'address type name [module]'", s);
                continue;
            }
            string? module = null;
            if (!mod.IsEmpty)
            {
                if (mod.Length > 2 && mod[0] == '[' && mod[^1] == ']') module = mod[1..^1].ToString();
                else { ctx.Warn(n, "module is not in brackets", s); continue; }
            }
            list.Add(new KernelSymbol { Name = name.ToString(), Address = a, Type = type[0], Module = module });
        }
        return list;
    }
}

/// <summary>
/// The kernel's symbol table, sorted by address, loaded once per root: resolves addresses to
/// <c>function+offset/size [module]</c> by binary search and finds symbols by name.
/// </summary>
public sealed class KernelSymbolTable
{
    private static readonly ConcurrentDictionary<string, (DateTime Loaded, KernelSymbolTable Table)> Cache = new();
    /// <summary>How far past a symbol of unknown size an address may lie and still count as inside it.</summary>
    private const long MaxUnsizedOffset = 1 << 20;

    private readonly KernelSymbol[] _byAddress;
    private readonly ulong[] _addresses;

    private KernelSymbolTable(List<KernelSymbol> symbols)
    {
        symbols.Sort((a, b) => a.Address.CompareTo(b.Address));
        // Sizes: distance to the next symbol at a higher address in the same module (kallsyms has none of its own).
        for (int i = 0; i < symbols.Count; i++)
        {
            int j = i + 1;
            while (j < symbols.Count && symbols[j].Address == symbols[i].Address) j++;
            long size = j < symbols.Count && symbols[j].Module == symbols[i].Module ? (long)(symbols[j].Address - symbols[i].Address) : 0;
            symbols[i] = symbols[i] with { Size = size };
        }
        _byAddress = symbols.ToArray();
        _addresses = _byAddress.Select(s => s.Address).ToArray();
    }

    /// <summary>Number of symbols.</summary>
    public int Count => _byAddress.Length;

    /// <summary>All symbols in address order.</summary>
    public IReadOnlyList<KernelSymbol> Symbols => _byAddress;

    /// <summary>Builds a table from parsed symbols (tests, snapshots).</summary>
    public static KernelSymbolTable FromSymbols(IEnumerable<KernelSymbol> symbols) => new(symbols.ToList());

    /// <summary>
    /// Loads <c>/proc/kallsyms</c> of a root, cached for the process (live: reloaded after 60 s, since modules come and go).
    /// </summary>
    /// <exception cref="KernelDebugException">The file is missing, or addresses are hidden by kptr_restrict.</exception>
    public static KernelSymbolTable Load(KernelRoot root, ParseContext? ctx = null)
    {
        if (Cache.TryGetValue(root.Path, out var hit) && (!root.IsLive || DateTime.UtcNow - hit.Loaded < TimeSpan.FromSeconds(60)))
            return hit.Table;
        ctx ??= new ParseContext(root.Resolve("proc/kallsyms"));
        List<KernelSymbol> symbols;
        using (var reader = root.OpenText("proc/kallsyms", "CONFIG_KALLSYMS"))
            symbols = KallsymsParser.Parse(reader, ctx);
        if (symbols.Count > 0 && symbols.All(s => s.Address == 0))
            throw new KernelDebugException("KernelSymbolAddressesHidden", KernelErrorCategory.PermissionDenied,
                "/proc/kallsyms shows every address as zero, so addresses cannot be resolved to symbols.",
                "Run as root (CAP_SYSLOG) with kernel.kptr_restrict at 0 or 1: sysctl -w kernel.kptr_restrict=1.", root.Resolve("proc/kallsyms"));
        var table = new KernelSymbolTable(symbols);
        Cache[root.Path] = (DateTime.UtcNow, table);
        return table;
    }

    /// <summary>The symbol containing <paramref name="address"/>, or null when it lies before the first or past the end of the last one.</summary>
    public SymbolLocation? Resolve(ulong address)
    {
        int i = Array.BinarySearch(_addresses, address);
        if (i < 0) i = ~i - 1;
        if (i < 0) return null;
        // Several names can share an address (aliases); take the last so the lookup is stable, prefer functions.
        var sym = _byAddress[i];
        int k = i;
        while (k > 0 && _addresses[k - 1] == sym.Address) { k--; if (_byAddress[k].IsFunction && !sym.IsFunction) sym = _byAddress[k]; }
        long offset = (long)(address - sym.Address);
        if (sym.Size > 0 && offset >= sym.Size) return null;
        // The last symbol of a region has no size: an address far past it (BPF JIT images, module gaps) is not in it.
        if (sym.Size == 0 && offset >= MaxUnsizedOffset) return null;
        return new SymbolLocation(address, sym, offset);
    }

    /// <summary>
    /// An address as text for records and tables: <c>name [module]</c> at a symbol's start (function-tracer ips),
    /// <c>name+0xoff/0xsize [module]</c> inside one, null outside every symbol.
    /// </summary>
    public string? Symbolize(ulong address) => Resolve(address) switch
    {
        null => null,
        { Offset: 0 } l => l.Symbol.Module is null ? l.Symbol.Name : $"{l.Symbol.Name} [{l.Symbol.Module}]",
        var l => l.ToString(),
    };

    /// <summary>Loads the table like <see cref="Load"/>, or returns null when kallsyms is missing or its addresses are hidden.</summary>
    public static KernelSymbolTable? TryLoad(KernelRoot root)
    {
        try { return Load(root); }
        catch (KernelDebugException) { return null; }
    }

    /// <summary>
    /// The table loaded on first use, not before (a BPF tool attaches first: that matters more than its first report);
    /// null when kallsyms is hidden, said once through <paramref name="verbose"/>: "kallsyms is ... : <paramref name="unsymbolized"/> stay unsymbolized."
    /// </summary>
    public static Lazy<KernelSymbolTable?> LoadLater(KernelRoot root, Action<string>? verbose, string unsymbolized) => new(() =>
    {
        var t = TryLoad(root);
        if (t is null) verbose?.Invoke($"kallsyms is unreadable or hidden (kptr_restrict): {unsymbolized} stay unsymbolized.");
        return t;
    });

    /// <summary>Symbols whose name matches <paramref name="match"/>, in address order.</summary>
    public IEnumerable<KernelSymbol> Find(Func<string, bool> match) => _byAddress.Where(s => match(s.Name));
}
