using System.Globalization;

namespace KernelDebug.Core.Tracing;

/// <summary>
/// Address → symbol lookup over <c>/proc/kallsyms</c> for function-tracer records (their <c>ip</c> is a function's
/// start). Addresses shown as zero (kptr_restrict) make the table empty, and lookups return null.
/// </summary>
public sealed class KallsymsLookup
{
    private readonly ulong[] _addresses;
    private readonly string[] _names;

    private KallsymsLookup(ulong[] a, string[] n) { _addresses = a; _names = n; }

    /// <summary>Symbols known.</summary>
    public int Count => _addresses.Length;

    /// <summary>Loads the table of a root (empty when unreadable).</summary>
    public static KallsymsLookup Load(KernelRoot root)
    {
        var list = new List<(ulong, string)>();
        using var r = root.Exists("proc/kallsyms") ? root.OpenText("proc/kallsyms", "CONFIG_KALLSYMS") : TextReader.Null;
        string? line;
        while ((line = r.ReadLine()) is not null)
        {
            var f = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 3 || f[1] is not ("t" or "T") || !ulong.TryParse(f[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong a) || a == 0) continue;
            list.Add((a, f.Length > 3 ? $"{f[2]} {f[3]}" : f[2]));
        }
        list.Sort((x, y) => x.Item1.CompareTo(y.Item1));
        return new KallsymsLookup(list.Select(x => x.Item1).ToArray(), list.Select(x => x.Item2).ToArray());
    }

    /// <summary>The symbol containing an address ("name" or "name+0x10"), or null.</summary>
    public string? Resolve(ulong address)
    {
        int i = Array.BinarySearch(_addresses, address);
        if (i >= 0) return _names[i];
        i = ~i - 1;
        return i < 0 ? null : $"{_names[i]}+0x{address - _addresses[i]:x}";
    }
}
