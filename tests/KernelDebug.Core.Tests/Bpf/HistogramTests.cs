using KernelDebug.Core.Bpf;
using Xunit;

namespace KernelDebug.Core.Tests.Bpf;

public class HistogramTests
{
    [Fact]
    public void SlotBounds_CoverEveryValueOnce()
    {
        var rnd = new Random(1);
        for (int i = 0; i < 100_000; i++)
        {
            ulong v = (ulong)rnd.NextInt64(0, 1L << 37);
            int s = Histogram.SlotOf(v);
            Assert.InRange(s, 0, Histogram.SlotCount - 1);
            Assert.True(Histogram.LowerBoundOf(s) <= v, $"{v} below slot {s}");
            Assert.True(v < Histogram.UpperBoundOf(s) || s == Histogram.SlotCount - 1, $"{v} above slot {s}");
        }
        for (int s = 1; s < Histogram.SlotCount; s++) Assert.Equal(Histogram.UpperBoundOf(s - 1), Histogram.LowerBoundOf(s));
    }

    [Fact]
    public void BucketWidth_IsAtMostAnEighthOfItsValues()
    {
        for (int s = Histogram.SubBuckets; s < Histogram.SlotCount - 1; s++)
        {
            double lo = Histogram.LowerBoundOf(s), width = Histogram.UpperBoundOf(s) - lo;
            Assert.True(width / lo <= 1.0 / Histogram.SubBuckets + 1e-9, $"slot {s}");
        }
    }

    [Fact]
    public void Percentiles_AreWithinAFewPercentOfExact()
    {
        var rnd = new Random(2);
        // log-normal-ish latencies around 10 µs
        var values = Enumerable.Range(0, 50_000).Select(_ => (ulong)Math.Exp(rnd.NextDouble() * 4 + 7)).ToArray();
        var h = Histogram.FromValues(values);
        var sorted = values.Order().ToArray();
        foreach (var p in new[] { 10.0, 50, 90, 99, 99.9 })
        {
            double exact = sorted[(int)Math.Ceiling(p / 100 * sorted.Length) - 1];
            Assert.InRange(h.Percentile(p), exact * 0.95, exact * 1.05);
        }
        Assert.Equal((ulong)values.Length, h.Count);
        Assert.Equal(sorted[0], h.Min);
        Assert.Equal(sorted[^1], h.Max);
        Assert.Equal(values.Aggregate(0UL, (a, b) => a + b), h.Sum);
        Assert.Equal(h.Min, h.Percentile(0), 0.001);
        Assert.Equal(h.Max, h.Percentile(100), 0.001);
    }

    [Fact]
    public void SingleValue_PercentilesAreThatValue()
    {
        var h = Histogram.FromValues([12_345, 12_345, 12_345]);
        Assert.Equal(12_345, h.P50, 0.001);
        Assert.Equal(12_345, h.P99, 0.001);
    }

    [Fact]
    public void Empty_IsZeroEverywhere()
    {
        var h = new Histogram();
        Assert.Equal(0UL, h.Count);
        Assert.Equal(0, h.Percentile(50));
        Assert.Equal(0, h.Mean);
        Assert.Empty(h.Buckets);
        Assert.Equal("", h.ToLog2Text());
    }

    [Fact]
    public void Merge_EqualsHistogramOfAllValues()
    {
        var a = Enumerable.Range(1, 500).Select(i => (ulong)(i * 37)).ToArray();
        var b = Enumerable.Range(1, 300).Select(i => (ulong)(i * 1001)).ToArray();
        var merged = Histogram.FromValues(a).Merge(Histogram.FromValues(b));
        var all = Histogram.FromValues(a.Concat(b));
        Assert.Equal(all.Count, merged.Count);
        Assert.Equal(all.Sum, merged.Sum);
        Assert.Equal(all.Min, merged.Min);
        Assert.Equal(all.Max, merged.Max);
        Assert.True(all.Slots.SequenceEqual(merged.Slots));
        Assert.Equal(all.P90, merged.P90);
        Assert.Equal(merged, merged.Merge(new Histogram()), new SameHistogram());
        Assert.Throws<ArgumentException>(() => merged.Merge(new Histogram("bytes")));
    }

    private sealed class SameHistogram : IEqualityComparer<Histogram>
    {
        public bool Equals(Histogram? x, Histogram? y) => x!.Count == y!.Count && x.Min == y.Min && x.Max == y.Max && x.Slots.SequenceEqual(y.Slots);
        public int GetHashCode(Histogram h) => h.Count.GetHashCode();
    }

    [Fact]
    public void Buckets_ExportEveryCountOnce()
    {
        var h = Histogram.FromValues(Enumerable.Range(0, 2000).Select(i => (ulong)(i * i)));
        Assert.Equal(h.Count, h.Buckets.Aggregate(0UL, (s, b) => s + b.Count));
        Assert.All(h.Buckets, b => Assert.True(b.LowerBound < b.UpperBound));
    }

    [Fact]
    public void Log2Counts_InNanoseconds_AreExactPowerOfTwoRows()
    {
        // ns buckets split powers of two exactly, so nsecs rows equal bpftrace's hist() rows
        var values = Enumerable.Range(0, 5000).Select(i => (ulong)(i * 7 + 3)).ToArray();
        var rows = Histogram.FromValues(values).Log2Counts(1);
        var expected = new ulong[64];
        foreach (var v in values) expected[v == 0 ? 0 : 63 - System.Numerics.BitOperations.LeadingZeroCount(v)]++;
        Assert.Equal(expected, rows);
    }

    [Fact]
    public void Log2Text_MatchesPrintLog2HistLayout()
    {
        // 1 µs .. 1000 µs in ns; print_log2_hist rows "low -> high : count |stars|"
        var h = Histogram.FromValues(Enumerable.Range(1, 1000).Select(i => (ulong)i * 1000 + 1));
        var lines = h.ToLog2Text().TrimEnd('\n').Split('\n');
        Assert.Equal("     usecs               : count    distribution", lines[0]);
        // a fine bucket that straddles a µs power of two goes to the row of its midpoint: 1 or 2 values here
        Assert.Matches(@"^         0 -> 1          : [12]        \|                                        \|$", lines[1]);
        Assert.Equal(11, lines.Length);   // rows 0..9: 512 -> 1023 is the last
        Assert.StartsWith("       512 -> 1023       : ", lines[^1]);
        var counts = h.Log2Counts();
        Assert.Equal(h.Count, counts.Aggregate(0UL, (a, b) => a + b));
        Assert.InRange(counts[9], 465UL, 500UL);   // 512..1000 µs: 489, give or take the buckets straddling 512 µs
    }
}
