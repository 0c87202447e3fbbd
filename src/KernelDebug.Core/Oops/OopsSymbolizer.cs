using System.Text.RegularExpressions;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Symbols;

namespace KernelDebug.Core.Oops;

/// <summary>A raw address of a report (<c>? 0xffffffffc0a01234</c>, <c>RIP: 0010:0xffffffff...</c>) resolved after the fact against kallsyms.</summary>
public sealed record ResolvedAddress
{
    /// <summary>The address as printed.</summary>
    public ulong Address { get; init; }
    /// <summary><see cref="Address"/> in hex.</summary>
    public string AddressHex => $"0x{Address:x}";
    /// <summary><c>RIP</c> for the faulting instruction, <c>Frame</c> for a call-trace entry.</summary>
    public required string Role { get; init; }
    /// <summary>The frame kallsyms gives for it (marked unreliable when the trace printed <c>?</c>).</summary>
    public required StackFrame Frame { get; init; }
    /// <summary>What it was resolved against, e.g. <c>/proc/kallsyms of 6.18.0 (this boot)</c>.</summary>
    public required string ResolvedFrom { get; init; }

    /// <summary>"0xffffffff81234567=func+0x12/0x40".</summary>
    public override string ToString() => $"{AddressHex}={Frame}";
}

/// <summary>
/// Symbolizes the raw addresses of reports from this machine's kernel release against its kallsyms (and loaded
/// modules). Kernel addresses move with KASLR every boot: a report whose printed symbols disagree with kallsyms
/// at their printed addresses is from another boot and is left as it is.
/// </summary>
public sealed class OopsSymbolizer
{
    private static readonly Regex RawFrame = new(@"^\s*(?:\[<[0-9a-f]+>\]\s*)?(?<q>\?\s+)?0x(?<a>[0-9a-f]{8,16})\s*$",
        RegexOptions.ExplicitCapture | RegexOptions.CultureInvariant);
    private static readonly Regex RawIp = new(@"^\s*(?:RIP|EIP|pc)\s*:\s*(?:(?<cs>[0-9a-f]{4}):)?0x(?<a>[0-9a-f]{8,16})\b",
        RegexOptions.ExplicitCapture | RegexOptions.CultureInvariant);
    private static readonly Regex PrintedFrame = new(@"\[<(?<a>[0-9a-f]{8,16})>\]\s+(?:\?\s+)?(?<f>[A-Za-z_][A-Za-z0-9_.]*)\+0x",
        RegexOptions.ExplicitCapture | RegexOptions.CultureInvariant);

    private readonly string? _release;
    private readonly Func<KernelSymbolTable?> _table;
    private readonly string _from;

    /// <summary>A symbolizer for reports of <paramref name="release"/> against <paramref name="table"/>.</summary>
    public OopsSymbolizer(string? release, Func<KernelSymbolTable?> table, string resolvedFrom)
    {
        _release = release;
        _table = table;
        _from = resolvedFrom;
    }

    /// <summary>The running kernel of a root: its release and its kallsyms (loaded on first need).</summary>
    public static OopsSymbolizer ForRoot(KernelRoot root)
    {
        string? release = root.TryReadValue("proc/sys/kernel/osrelease");
        KernelSymbolTable? table = null;
        bool loaded = false;
        return new OopsSymbolizer(release, () =>
        {
            if (!loaded) { table = KernelSymbolTable.TryLoad(root); loaded = true; }
            return table;
        }, $"{root.Resolve("proc/kallsyms")} of {release}");
    }

    /// <summary>The report with its raw addresses resolved, or the report unchanged when it is not from this release or boot.</summary>
    public KernelOops Symbolize(KernelOops o)
    {
        if (_release is null || o.KernelRelease != _release) return o;
        var raw = new List<(ulong Address, bool Ip, bool Questionable)>();
        foreach (var line in o.Lines)
        {
            if (RawIp.Match(line) is { Success: true } ip)
            {
                if (ip.Groups["cs"].Value is "0033" or "0023" or "002b") continue;
                if (Fields.TryHex(ip.Groups["a"].Value, out ulong a)) raw.Add((a, true, false));
            }
            else if (RawFrame.Match(line) is { Success: true } fr && Fields.TryHex(fr.Groups["a"].Value, out ulong b))
                raw.Add((b, false, fr.Groups["q"].Success));
        }
        if (raw.Count == 0) return o;
        var table = _table();
        if (table is null || !SameBoot(o, table)) return o;
        var resolved = new List<ResolvedAddress>();
        foreach (var (address, isIp, q) in raw)
        {
            if (table.Resolve(address) is not { } loc || !loc.Symbol.IsFunction) continue;
            var frame = loc.ToFrame() with { Reliable = !q };
            if (resolved.Any(r => r.Address == address && r.Role == (isIp ? "RIP" : "Frame"))) continue;
            resolved.Add(new ResolvedAddress { Address = address, Role = isIp ? "RIP" : "Frame", Frame = frame, ResolvedFrom = _from });
        }
        if (resolved.Count == 0) return o;
        var ipFrame = resolved.FirstOrDefault(r => r.Role == "RIP")?.Frame;
        return o with
        {
            ResolvedAddresses = resolved,
            InstructionPointer = o.InstructionPointer ?? ipFrame,
        };
    }

    /// <summary>Addresses the report prints beside a symbol must resolve to that symbol here, else KASLR placed this boot elsewhere.</summary>
    private static bool SameBoot(KernelOops o, KernelSymbolTable table)
    {
        foreach (var line in o.Lines)
            foreach (Match m in PrintedFrame.Matches(line))
            {
                if (!Fields.TryHex(m.Groups["a"].Value, out ulong a)) continue;
                if (table.Resolve(a)?.Symbol.Name != m.Groups["f"].Value) return false;
            }
        return true;
    }
}
