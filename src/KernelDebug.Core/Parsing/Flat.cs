using System.Collections;
using System.Globalization;

namespace KernelDebug.Core.Parsing;

/// <summary>
/// A read-only list that prints flat (<c>a;b;c</c>), so Export-Csv and string conversion of a record's collection
/// show its items instead of a .NET type name. Records keep their <c>IReadOnlyList</c> property types and wrap what
/// they are given in their init accessors (<see cref="Flat"/>), so every constructor and parser stays as it is.
/// </summary>
public sealed class FlatList<T> : IReadOnlyList<T>
{
    private readonly IReadOnlyList<T> _items;
    private readonly string _separator;
    private readonly Func<T, string>? _format;

    internal FlatList(IReadOnlyList<T> items, string separator, Func<T, string>? format)
    {
        _items = items;
        _separator = separator;
        _format = format;
    }

    /// <summary>An empty list.</summary>
    public static FlatList<T> Empty { get; } = new(Array.Empty<T>(), ";", null);

    /// <inheritdoc />
    public T this[int index] => _items[index];
    /// <inheritdoc />
    public int Count => _items.Count;
    /// <inheritdoc />
    public IEnumerator<T> GetEnumerator() => _items.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The items joined by the separator (";" unless the record chose another).</summary>
    public override string ToString() =>
        string.Join(_separator, _items.Select(i => _format is not null ? _format(i) : Convert.ToString(i, CultureInfo.InvariantCulture)));
}

/// <summary>A read-only dictionary that prints flat (<c>ENOENT=3;EAGAIN=1</c>), for the same reason as <see cref="FlatList{T}"/>.</summary>
public sealed class FlatMap<TKey, TValue> : IReadOnlyDictionary<TKey, TValue> where TKey : notnull
{
    private readonly IReadOnlyDictionary<TKey, TValue> _map;
    private readonly Func<TValue, string>? _format;

    internal FlatMap(IReadOnlyDictionary<TKey, TValue> map, Func<TValue, string>? format)
    {
        _map = map;
        _format = format;
    }

    /// <summary>An empty map.</summary>
    public static FlatMap<TKey, TValue> Empty { get; } = new(new Dictionary<TKey, TValue>(), null);

    /// <inheritdoc />
    public TValue this[TKey key] => _map[key];
    /// <inheritdoc />
    public IEnumerable<TKey> Keys => _map.Keys;
    /// <inheritdoc />
    public IEnumerable<TValue> Values => _map.Values;
    /// <inheritdoc />
    public int Count => _map.Count;
    /// <inheritdoc />
    public bool ContainsKey(TKey key) => _map.ContainsKey(key);
    /// <inheritdoc />
    public bool TryGetValue(TKey key, out TValue value) => _map.TryGetValue(key, out value!);
    /// <inheritdoc />
    public IEnumerator<KeyValuePair<TKey, TValue>> GetEnumerator() => _map.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>"key=value" pairs joined by ";".</summary>
    public override string ToString() =>
        string.Join(";", _map.Select(kv => $"{kv.Key}={(_format is not null ? _format(kv.Value) : Convert.ToString(kv.Value, CultureInfo.InvariantCulture))}"));
}

/// <summary>Wraps a record's collections so they print flat (see <see cref="FlatList{T}"/>).</summary>
public static class Flat
{
    /// <summary>A flat list of <paramref name="items"/> joined by <paramref name="separator"/>.</summary>
    public static FlatList<T> List<T>(IEnumerable<T>? items, string separator = ";", Func<T, string>? format = null) => items switch
    {
        null => FlatList<T>.Empty,
        FlatList<T> f when separator == ";" && format is null => f,
        IReadOnlyList<T> l => new FlatList<T>(l, separator, format),
        _ => new FlatList<T>(items.ToArray(), separator, format),
    };

    /// <summary>A flat list of addresses or masks, printed in hex.</summary>
    public static FlatList<ulong> Hex(IEnumerable<ulong>? items) => List(items, ";", v => $"0x{v:x}");

    /// <summary>An address, mask or status word as the kernel prints it (0x...), or null.</summary>
    public static string? Hex(ulong? value) => value is { } v ? $"0x{v:x}" : null;

    /// <summary>A flat map printed as key=value;key=value.</summary>
    public static FlatMap<TKey, TValue> Map<TKey, TValue>(IReadOnlyDictionary<TKey, TValue>? map, Func<TValue, string>? format = null) where TKey : notnull =>
        map switch
        {
            null => FlatMap<TKey, TValue>.Empty,
            FlatMap<TKey, TValue> f when format is null => f,
            _ => new FlatMap<TKey, TValue>(map, format),
        };
}
