using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Tracing;

namespace KernelDebug.Core.Symbols;

/// <summary>
/// The names of the kernel's packet drop reasons (<c>enum skb_drop_reason</c>, include/net/dropreason-core.h, 5.17+),
/// as this kernel numbers them: the values change between versions as reasons are added, so they are read from the
/// kernel's BTF, else from the <c>__print_symbolic</c> of the skb:kfree_skb event's format file, never compiled in.
/// Names drop the <c>SKB_DROP_REASON_</c> (or <c>SKB_</c>) prefix, as the tracepoint prints them: NO_SOCKET, CONSUMED.
/// </summary>
public sealed partial class SkbDropReasons
{
    /// <summary>The prefix of the enum's members.</summary>
    public const string Prefix = "SKB_DROP_REASON_";

    private static readonly ConcurrentDictionary<string, SkbDropReasons> Cache = new();
    private readonly Dictionary<uint, string> _names = new();

    private SkbDropReasons(IEnumerable<(string Name, long Value)> members, string source)
    {
        Source = source;
        foreach (var (name, value) in members)
        {
            // BTF has the enum's full names; the format file prints them short already (SKB_CSUM is a short name there).
            string shortName = source == "btf" ? ShortName(name) : name;
            // Bounds and masks share the enum with the reasons: they name no drop.
            if (shortName is "MAX" or "SUBSYS_MASK" || value is < 0 or > uint.MaxValue) continue;
            _names.TryAdd((uint)value, shortName);
        }
        All = _names.OrderBy(kv => kv.Key).Select(kv => (kv.Value, kv.Key)).ToList();
    }

    /// <summary>Where the names came from: "btf", "tracefs", or "none" (every reason is then Reason&lt;code&gt;).</summary>
    public string Source { get; }

    /// <summary>Every reason, by code.</summary>
    public IReadOnlyList<(string Name, uint Code)> All { get; }

    /// <summary>A table of enum members as BTF names them (SKB_DROP_REASON_NO_SOCKET), or, for another source, short names.</summary>
    public static SkbDropReasons FromMembers(IEnumerable<(string Name, long Value)> members, string source = "btf") => new(members, source);

    /// <summary>
    /// The reasons of <paramref name="root"/>: from its BTF (sys/kernel/btf/vmlinux), else from tracefs's
    /// events/skb/kfree_skb/format (nothing is mounted for it), else none. Cached per root: reasons change only with the kernel.
    /// </summary>
    public static SkbDropReasons Load(KernelRoot root) => Cache.GetOrAdd(root.Path, _ =>
    {
        if (Bpf.KernelBtf.Enum(root.Resolve("sys/kernel/btf/vmlinux"), "skb_drop_reason") is { Count: > 0 } members)
            return new SkbDropReasons(members, "btf");
        if (TraceFs.TryLocate(root) is { } tracefs && root.TryReadText(tracefs.Relative("events/skb/kfree_skb/format")) is { } text
            && TraceEventFormatParser.Parse(text, "skb", new ParseContext(tracefs.Resolve("events/skb/kfree_skb/format")))?.PrintFormat is { } print
            && ParsePrintSymbolic(print, "reason") is { Count: > 0 } symbols)
            return new SkbDropReasons(symbols, "tracefs");
        return new SkbDropReasons([], "none");
    });

    /// <summary>The reason's name (NO_SOCKET), or Reason&lt;code&gt; for a code this kernel does not name (subsystem reasons).</summary>
    public string Name(uint code) => _names.TryGetValue(code, out var n) ? n : string.Create(CultureInfo.InvariantCulture, $"Reason{code}");

    /// <summary>NO_SOCKET for SKB_DROP_REASON_NO_SOCKET, SKB_CSUM for SKB_DROP_REASON_SKB_CSUM, CONSUMED for SKB_CONSUMED; other text unchanged.</summary>
    public static string ShortName(string name) =>
        name.StartsWith(Prefix, StringComparison.Ordinal) ? name[Prefix.Length..]
        : name.StartsWith("SKB_", StringComparison.Ordinal) ? name[4..] : name;

    /// <summary>
    /// The codes that patterns select: each is a number, or is matched against the short
    /// and the full name of every reason by the pattern's Matches (the caller supplies it, e.g. PowerShell wildcards).
    /// </summary>
    /// <exception cref="Errors.KernelDebugException">UnknownDropReason: a pattern selects no reason of this kernel.</exception>
    public IReadOnlyCollection<uint> Select(IEnumerable<(string Text, Func<string, bool> Matches)> patterns)
    {
        var codes = new SortedSet<uint>();
        foreach (var (text, matches) in patterns)
        {
            if (uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out uint number))
            {
                codes.Add(number);
                continue;
            }
            bool any = false;
            foreach (var (name, code) in All.Where(r => matches(r.Name) || matches(Prefix + r.Name)))
            {
                codes.Add(code);
                any = true;
            }
            if (!any)
                throw new Errors.KernelDebugException("UnknownDropReason", Errors.KernelErrorCategory.InvalidArgument,
                    $"'{text}' matches no packet drop reason of this kernel ({All.Count} known, from {Source}).",
                    "Use tab completion on -Reason to list this kernel's reasons (enum skb_drop_reason), or give a reason code.", text);
        }
        return codes;
    }

    /// <summary>
    /// The value/name pairs of <c>__print_symbolic(REC-&gt;<paramref name="field"/>, { 2, "NOT_SPECIFIED" }, ...)</c>
    /// in an event's print fmt; empty when there is none. Pure: no I/O.
    /// </summary>
    public static IReadOnlyList<(string Name, long Value)> ParsePrintSymbolic(string printFormat, string field)
    {
        var list = new List<(string, long)>();
        string head = $"__print_symbolic(REC->{field},";
        int at = printFormat.IndexOf(head, StringComparison.Ordinal);
        if (at < 0) return list;
        for (var m = SymbolPair().Match(printFormat, at + head.Length); m.Success; m = m.NextMatch())
        {
            string v = m.Groups["value"].Value;
            bool ok = v.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                ? long.TryParse(v.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out long value)
                : long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
            if (ok) list.Add((m.Groups["name"].Value, value));
        }
        return list;
    }

    // One "{ value, "name" }" right after the previous one (\G): the pairs end where the __print_symbolic does.
    [GeneratedRegex("""\G\s*,?\s*\{\s*(?<value>-?(?:0x[0-9a-fA-F]+|[0-9]+))\s*,\s*"(?<name>[^"]*)"\s*\}""", RegexOptions.CultureInvariant)]
    private static partial Regex SymbolPair();
}
