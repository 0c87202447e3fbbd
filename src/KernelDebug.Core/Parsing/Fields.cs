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

    /// <summary>Parses a finite decimal number with an optional fraction ("0.52"); NaN and infinities are no kernel number.</summary>
    public static bool TryDouble(ReadOnlySpan<char> s, out double value) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    /// <summary>Parses a hexadecimal number with or without a 0x prefix.</summary>
    public static bool TryHex(ReadOnlySpan<char> s, out ulong value)
    {
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) s = s[2..];
        return ulong.TryParse(s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>Parses a signed decimal number that must fit an <see cref="int"/> (false past its range, never an overflow).</summary>
    public static bool TryInt(ReadOnlySpan<char> s, out int value) =>
        int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);

    /// <summary>Parses a decimal number of 0 or more that must fit an <see cref="int"/> (ids, counts, CPU numbers).</summary>
    public static bool TryNonNegativeInt(ReadOnlySpan<char> s, out int value) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);

    /// <summary>Narrows a parsed number to an <see cref="int"/>; false when it does not fit.</summary>
    public static bool TryToInt(ulong v, out int value)
    {
        value = v <= int.MaxValue ? (int)v : 0;
        return v <= int.MaxValue;
    }

    /// <summary>Narrows a parsed number to a <see cref="long"/>; false when it does not fit.</summary>
    public static bool TryToLong(ulong v, out long value)
    {
        value = v <= long.MaxValue ? (long)v : 0;
        return v <= long.MaxValue;
    }

    /// <summary><paramref name="v"/> × <paramref name="unit"/> (kB × 1024, pages × page size, MB × 2^20); false when the product passes <see cref="long.MaxValue"/> or a factor is negative.</summary>
    public static bool TryScale(ulong v, long unit, out long bytes)
    {
        bytes = 0;
        if (unit < 0 || v > long.MaxValue) return false;
        if (unit != 0 && (long)v > long.MaxValue / unit) return false;
        bytes = (long)v * unit;
        return true;
    }

    /// <summary>The signed form of <see cref="TryScale(ulong, long, out long)"/>: negative values scale too, within <see cref="long"/>.</summary>
    public static bool TryScale(long v, long unit, out long bytes)
    {
        try { bytes = checked(v * unit); return true; }
        catch (OverflowException) { bytes = 0; return false; }
    }

    /// <summary>The sum of values each in range whose total may not be (a summary of byte counts): stops at <see cref="long.MaxValue"/> or <see cref="long.MinValue"/> instead of throwing.</summary>
    public static long SumSaturating<T>(IEnumerable<T> items, Func<T, long> value)
    {
        long sum = 0;
        foreach (var item in items)
        {
            long v = value(item);
            sum = v > 0 && sum > long.MaxValue - v ? long.MaxValue : v < 0 && sum < long.MinValue - v ? long.MinValue : sum + v;
        }
        return sum;
    }

    /// <summary>A duration of <paramref name="seconds"/> (fractions allowed); false when not finite or past <see cref="TimeSpan"/>'s range.</summary>
    public static bool TrySeconds(double seconds, out TimeSpan value) => TryTicks(seconds * TimeSpan.TicksPerSecond, out value);

    /// <summary>A duration of <paramref name="milliseconds"/>; false when not finite or past <see cref="TimeSpan"/>'s range.</summary>
    public static bool TryMilliseconds(double milliseconds, out TimeSpan value) => TryTicks(milliseconds * TimeSpan.TicksPerMillisecond, out value);

    /// <summary>A duration of <paramref name="microseconds"/>; false when not finite or past <see cref="TimeSpan"/>'s range.</summary>
    public static bool TryMicroseconds(double microseconds, out TimeSpan value) => TryTicks(microseconds * 10, out value);

    /// <summary>A duration of <paramref name="nanoseconds"/>; false past <see cref="TimeSpan"/>'s range.</summary>
    public static bool TryNanoseconds(ulong nanoseconds, out TimeSpan value)
    {
        value = nanoseconds / 100 <= long.MaxValue ? TimeSpan.FromTicks((long)(nanoseconds / 100)) : TimeSpan.Zero;
        return nanoseconds / 100 <= long.MaxValue;
    }

    /// <summary>A duration of <paramref name="seconds"/>; false past <see cref="TimeSpan"/>'s range.</summary>
    public static bool TrySeconds(long seconds, out TimeSpan value) => TryScaleTicks(seconds, TimeSpan.TicksPerSecond, out value);

    /// <summary>A duration of <paramref name="microseconds"/>; false past <see cref="TimeSpan"/>'s range.</summary>
    public static bool TryMicroseconds(long microseconds, out TimeSpan value) => TryScaleTicks(microseconds, 10, out value);

    /// <summary>A duration of <paramref name="microseconds"/>; false past <see cref="TimeSpan"/>'s range.</summary>
    public static bool TryMicroseconds(ulong microseconds, out TimeSpan value) => TryScaleTicks(microseconds, 10, out value);

    /// <summary>A duration of <paramref name="ticks"/> × <paramref name="ticksPerUnit"/> (clock ticks of USER_HZ, microseconds...); false past <see cref="TimeSpan"/>'s range.</summary>
    public static bool TryScaleTicks(ulong units, long ticksPerUnit, out TimeSpan value)
    {
        bool ok = TryScale(units, ticksPerUnit, out long ticks);
        value = ok ? TimeSpan.FromTicks(ticks) : TimeSpan.Zero;
        return ok;
    }

    /// <summary>The signed form of <see cref="TryScaleTicks(ulong, long, out TimeSpan)"/>.</summary>
    public static bool TryScaleTicks(long units, long ticksPerUnit, out TimeSpan value)
    {
        bool ok = TryScale(units, ticksPerUnit, out long ticks);
        value = ok ? TimeSpan.FromTicks(ticks) : TimeSpan.Zero;
        return ok;
    }

    private static bool TryTicks(double ticks, out TimeSpan value)
    {
        // TimeSpan.MaxValue.Ticks as a double rounds up to 2^63, so compare strictly below it.
        bool ok = double.IsFinite(ticks) && ticks > long.MinValue && ticks < long.MaxValue;
        value = ok ? TimeSpan.FromTicks((long)Math.Round(ticks)) : TimeSpan.Zero;
        return ok;
    }

    /// <summary>The time <paramref name="seconds"/> after the Unix epoch; false outside years 1970..9999.</summary>
    public static bool TryUnixSeconds(long seconds, out DateTimeOffset value)
    {
        bool ok = seconds is >= 0 and <= 253402300799;
        value = ok ? DateTimeOffset.FromUnixTimeSeconds(seconds) : default;
        return ok;
    }

    /// <summary>The time <paramref name="microseconds"/> after the Unix epoch (journal realtime); false outside years 1970..9999.</summary>
    public static bool TryUnixMicroseconds(long microseconds, out DateTimeOffset value)
    {
        bool ok = microseconds is >= 0 and <= 253402300799_999999;
        value = ok ? DateTimeOffset.UnixEpoch.AddTicks(microseconds * 10) : default;
        return ok;
    }

    /// <summary><paramref name="time"/> + <paramref name="offset"/>; false when the sum leaves <see cref="DateTimeOffset"/>'s range.</summary>
    public static bool TryAdd(DateTimeOffset time, TimeSpan offset, out DateTimeOffset value)
    {
        long ticks = time.UtcTicks;
        bool ok = offset.Ticks >= 0
            ? ticks <= DateTimeOffset.MaxValue.UtcTicks - offset.Ticks
            : ticks + offset.Ticks >= DateTimeOffset.MinValue.UtcTicks; // ticks >= 0, so adding a negative offset cannot wrap
        value = ok ? time + offset : default;
        return ok;
    }

    /// <summary><paramref name="time"/> + <paramref name="offset"/> when both are known and the sum is in range, else null (a clock past year 9999 is no time).</summary>
    public static DateTimeOffset? AddOrNull(DateTimeOffset? time, TimeSpan? offset) =>
        time is { } t && offset is { } o && TryAdd(t, o, out var sum) ? sum : null;

    /// <summary>Parses a hexadecimal number (0x optional) that must fit a <see cref="uint"/> (CPUID, APIC id, microcode).</summary>
    public static bool TryHexUInt(ReadOnlySpan<char> s, out uint value)
    {
        bool ok = TryHex(s, out ulong v) && v <= uint.MaxValue;
        value = ok ? (uint)v : 0;
        return ok;
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
