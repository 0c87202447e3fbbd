using System.Globalization;

namespace KernelDebug.Core.Parsing;

/// <summary>Small span helpers shared by the procfs/sysfs parsers: splitting on blanks and number parsing without allocation.</summary>
public static class Fields
{
    /// <summary>Enumerates the blank-separated fields of a line (spaces and tabs).</summary>
    public static FieldEnumerator Split(ReadOnlySpan<char> line) => new(line);

    /// <summary>Parses an unsigned decimal number.</summary>
    public static bool TryULong(ReadOnlySpan<char> s, out ulong value) =>
        ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);

    /// <summary>Parses a signed decimal number.</summary>
    public static bool TryLong(ReadOnlySpan<char> s, out long value) =>
        long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);

    /// <summary>Parses a decimal number with an optional fraction ("0.52").</summary>
    public static bool TryDouble(ReadOnlySpan<char> s, out double value) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out value);

    /// <summary>Parses a hexadecimal number with or without a 0x prefix.</summary>
    public static bool TryHex(ReadOnlySpan<char> s, out ulong value)
    {
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) s = s[2..];
        return ulong.TryParse(s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>Enumerator over blank-separated fields.</summary>
    public ref struct FieldEnumerator
    {
        private ReadOnlySpan<char> _rest;
        private ReadOnlySpan<char> _current;

        internal FieldEnumerator(ReadOnlySpan<char> line) { _rest = line; _current = default; }

        /// <summary>The current field.</summary>
        public readonly ReadOnlySpan<char> Current => _current;

        /// <summary>Returns this enumerator (for foreach).</summary>
        public readonly FieldEnumerator GetEnumerator() => this;

        /// <summary>Moves to the next field.</summary>
        public bool MoveNext()
        {
            int i = 0;
            while (i < _rest.Length && (_rest[i] == ' ' || _rest[i] == '\t')) i++;
            if (i == _rest.Length) { _rest = default; return false; }
            int j = i;
            while (j < _rest.Length && _rest[j] != ' ' && _rest[j] != '\t') j++;
            _current = _rest[i..j];
            _rest = _rest[j..];
            return true;
        }

        /// <summary>Moves to the next field and returns it, or an empty span when there is none.</summary>
        public ReadOnlySpan<char> Next() => MoveNext() ? _current : default;
    }
}
