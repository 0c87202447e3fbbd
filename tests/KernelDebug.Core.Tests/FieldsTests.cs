using KernelDebug.Core.Parsing;
using Xunit;

namespace KernelDebug.Core.Tests;

/// <summary>The checked conversions every parser uses: in range they convert, past it they say false, never throw.</summary>
public sealed class FieldsTests
{
    [Theory]
    [InlineData(1.5, true)]
    [InlineData(922337203685.0, true)]          // just under TimeSpan.MaxValue (922337203685.4775807 s)
    [InlineData(922337203686.0, false)]
    [InlineData(1e30, false)]
    [InlineData(double.NaN, false)]
    [InlineData(double.PositiveInfinity, false)]
    [InlineData(-1e30, false)]
    public void TrySeconds_Double(double secs, bool ok)
    {
        Assert.Equal(ok, Fields.TrySeconds(secs, out var t));
        if (ok) Assert.Equal(secs, t.TotalSeconds, 3);
    }

    [Fact]
    public void Scales_StopAtLongRange()
    {
        Assert.True(Fields.TryScale(16318480UL, 1024, out long b));
        Assert.Equal(16318480L * 1024, b);
        Assert.False(Fields.TryScale((ulong)long.MaxValue / 1024 + 1, 1024, out _));
        Assert.False(Fields.TryScale(ulong.MaxValue, 1, out _));
        Assert.False(Fields.TryScale(long.MinValue, 2, out _));
        Assert.True(Fields.TryScale(-5L, 1024, out long n));
        Assert.Equal(-5120, n);
        Assert.False(Fields.TryMicroseconds(long.MaxValue, out _));
        Assert.True(Fields.TryMicroseconds(1_000_000L, out var s));
        Assert.Equal(TimeSpan.FromSeconds(1), s);
        Assert.True(Fields.TryNanoseconds(ulong.MaxValue, out var ns)); // ulong ns / 100 always fits a TimeSpan
        Assert.Equal((long)(ulong.MaxValue / 100), ns.Ticks);
    }

    [Fact]
    public void Calendar_StaysInsideYears1970To9999()
    {
        Assert.True(Fields.TryUnixSeconds(1700000000, out var t));
        Assert.Equal(2023, t.Year);
        Assert.False(Fields.TryUnixSeconds(253402300800, out _));
        Assert.False(Fields.TryUnixSeconds(-1, out _));
        Assert.False(Fields.TryUnixMicroseconds(long.MaxValue, out _));
        Assert.Null(Fields.AddOrNull(DateTimeOffset.MaxValue.AddDays(-1), TimeSpan.FromDays(2)));
        Assert.Null(Fields.AddOrNull(DateTimeOffset.UnixEpoch, TimeSpan.MinValue));
        Assert.Equal(DateTimeOffset.UnixEpoch.AddDays(1), Fields.AddOrNull(DateTimeOffset.UnixEpoch, TimeSpan.FromDays(1)));
        Assert.Null(Fields.AddOrNull(null, TimeSpan.Zero));
    }

    [Fact]
    public void Parsing_RejectsWhatNoTypeHolds()
    {
        Assert.False(Fields.TryDouble("NaN", out _));
        Assert.False(Fields.TryDouble("Infinity", out _));
        Assert.True(Fields.TryDouble("1e30", out _));
        Assert.False(Fields.TryInt("2147483648", out _));
        Assert.True(Fields.TryInt("-2147483648", out _));
        Assert.False(Fields.TryNonNegativeInt("-1", out _));
        Assert.False(Fields.TryHexUInt("100000000", out _));
        Assert.True(Fields.TryHexUInt("0xffffffff", out uint u));
        Assert.Equal(uint.MaxValue, u);
        Assert.False(Fields.TryULong("18446744073709551616", out _));
        Assert.Equal(long.MaxValue, Fields.SumSaturating(new[] { long.MaxValue, 1L, 5L }, x => x));
        Assert.Equal(long.MinValue, Fields.SumSaturating(new[] { long.MinValue, -1L }, x => x));
        Assert.Equal(6, Fields.SumSaturating(new[] { 1L, 2L, 3L }, x => x));
    }
}
