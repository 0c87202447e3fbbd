using System.Globalization;
using System.Text;

namespace KernelDebug.Core.Bpf;

/// <summary>One bucket of a <see cref="Histogram"/>: values in [LowerBound, UpperBound), in the histogram's unit.</summary>
public sealed record HistogramBucket(ulong LowerBound, ulong UpperBound, ulong Count);

/// <summary>
/// A log-linear histogram as the BPF programs build it (Bpf/Programs/kd_hist.bpf.h): each power-of-two range is
/// split into <see cref="SubBuckets"/> linear buckets, so a bucket is at most 1/8 of its values wide and
/// interpolated percentiles are within a few percent. Count, Sum, Min and Max are exact.
/// </summary>
public sealed class Histogram
{
    /// <summary>log2 of the linear sub-buckets per power of two (KD_HIST_SUB_BITS).</summary>
    public const int SubBits = 3;
    /// <summary>Linear sub-buckets per power-of-two range.</summary>
    public const int SubBuckets = 1 << SubBits;
    /// <summary>Largest exponent with its own buckets (KD_HIST_MAX_EXP); larger values share the last bucket.</summary>
    public const int MaxExponent = 36;
    /// <summary>Number of buckets (KD_HIST_SLOTS).</summary>
    public const int SlotCount = SubBuckets + (MaxExponent - SubBits + 1) * SubBuckets;

    private readonly ulong[] _slots;

    /// <summary>Creates a histogram from raw slot counts and exact totals.</summary>
    public Histogram(ReadOnlySpan<ulong> slots, ulong count, ulong sum, ulong min, ulong max, string unit = "ns")
    {
        _slots = new ulong[SlotCount];
        slots[..Math.Min(slots.Length, SlotCount)].CopyTo(_slots);
        Count = count;
        Sum = sum;
        Min = count == 0 ? 0 : min;
        Max = max;
        Unit = unit;
    }

    /// <summary>An empty histogram.</summary>
    public Histogram(string unit = "ns") : this(ReadOnlySpan<ulong>.Empty, 0, 0, 0, 0, unit) { }

    /// <summary>Builds a histogram from individual values (tests, user-side aggregation).</summary>
    public static Histogram FromValues(IEnumerable<ulong> values, string unit = "ns")
    {
        var slots = new ulong[SlotCount];
        ulong count = 0, sum = 0, min = ulong.MaxValue, max = 0;
        foreach (var v in values)
        {
            slots[SlotOf(v)]++;
            count++;
            sum += v;
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }
        return new Histogram(slots, count, sum, min, max, unit);
    }

    /// <summary>The unit of all values (ns for latencies).</summary>
    public string Unit { get; }
    /// <summary>Number of values.</summary>
    public ulong Count { get; }
    /// <summary>Sum of all values.</summary>
    public ulong Sum { get; }
    /// <summary>Smallest value (0 when empty).</summary>
    public ulong Min { get; }
    /// <summary>Largest value.</summary>
    public ulong Max { get; }
    /// <summary>Arithmetic mean (0 when empty).</summary>
    public double Mean => Count == 0 ? 0 : (double)Sum / Count;
    /// <summary>Median by interpolation.</summary>
    public double P50 => Percentile(50);
    /// <summary>90th percentile by interpolation.</summary>
    public double P90 => Percentile(90);
    /// <summary>99th percentile by interpolation.</summary>
    public double P99 => Percentile(99);

    /// <summary>The raw slot counts (length <see cref="SlotCount"/>).</summary>
    public ReadOnlySpan<ulong> Slots => _slots;

    /// <summary>The non-empty buckets, lowest first, for export (Export-Csv, ConvertTo-Json).</summary>
    public IReadOnlyList<HistogramBucket> Buckets
    {
        get
        {
            var rows = new List<HistogramBucket>();
            for (int s = 0; s < SlotCount; s++)
                if (_slots[s] != 0) rows.Add(new HistogramBucket(LowerBoundOf(s), UpperBoundOf(s), _slots[s]));
            return rows;
        }
    }

    /// <summary>The bucket a value falls in; the same arithmetic as kd_hist_slot in kd_hist.bpf.h.</summary>
    public static int SlotOf(ulong v)
    {
        if (v < SubBuckets) return (int)v;
        int e = 63 - System.Numerics.BitOperations.LeadingZeroCount(v);
        if (e > MaxExponent) return SlotCount - 1;
        int sub = (int)(v >> (e - SubBits)) & (SubBuckets - 1);
        return (e - SubBits + 1) * SubBuckets + sub;
    }

    /// <summary>Smallest value of a bucket.</summary>
    public static ulong LowerBoundOf(int slot)
    {
        if (slot < SubBuckets) return (ulong)slot;
        int e = slot / SubBuckets + SubBits - 1;
        return (ulong)(SubBuckets + slot % SubBuckets) << (e - SubBits);
    }

    /// <summary>One past the largest value of a bucket (the last bucket is open-ended: ulong.MaxValue).</summary>
    public static ulong UpperBoundOf(int slot) => slot == SlotCount - 1 ? ulong.MaxValue : LowerBoundOf(slot + 1);

    /// <summary>
    /// The value below which <paramref name="percent"/> % of the values fall, by linear interpolation inside the
    /// bucket that holds it, clamped to [Min, Max]. 0 for an empty histogram.
    /// </summary>
    public double Percentile(double percent)
    {
        if (percent is < 0 or > 100 || double.IsNaN(percent)) throw new ArgumentOutOfRangeException(nameof(percent));
        ulong total = 0;
        foreach (var c in _slots) total += c;
        if (total == 0) return 0;
        double rank = percent / 100.0 * total;
        double cumulative = 0;
        for (int s = 0; s < SlotCount; s++)
        {
            if (_slots[s] == 0) continue;
            if (cumulative + _slots[s] >= rank)
            {
                double lo = Math.Max(LowerBoundOf(s), Min);
                double hi = Math.Min(s == SlotCount - 1 ? Max : UpperBoundOf(s), Max == 0 ? double.MaxValue : Max + 1.0);
                if (hi < lo) hi = lo;
                double fraction = (rank - cumulative) / _slots[s];
                return Math.Clamp(lo + fraction * (hi - lo), Min, Max);
            }
            cumulative += _slots[s];
        }
        return Max;
    }

    /// <summary>The sum of two histograms of the same unit.</summary>
    public Histogram Merge(Histogram other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Unit != Unit) throw new ArgumentException($"cannot merge {other.Unit} into {Unit}", nameof(other));
        var slots = new ulong[SlotCount];
        for (int s = 0; s < SlotCount; s++) slots[s] = _slots[s] + other._slots[s];
        ulong min = Count == 0 ? other.Min : other.Count == 0 ? Min : Math.Min(Min, other.Min);
        return new Histogram(slots, Count + other.Count, Sum + other.Sum, min, Math.Max(Max, other.Max), Unit);
    }

    /// <summary>
    /// Power-of-two rows as libbpf-tools' print_log2_hist shows them: the value divided by
    /// <paramref name="divisor"/> (1000 turns ns into usecs), row i holding [2^i, 2^(i+1)), row 0 holding 0 and 1.
    /// Each fine bucket goes to the row of its midpoint.
    /// </summary>
    public ulong[] Log2Counts(ulong divisor = 1000)
    {
        var rows = new ulong[64];
        for (int s = 0; s < SlotCount; s++)
        {
            if (_slots[s] == 0) continue;
            ulong lo = LowerBoundOf(s), hi = s == SlotCount - 1 ? Math.Max(lo + 1, Max) : UpperBoundOf(s);
            ulong scaled = (lo + (hi - lo) / 2) / Math.Max(1, divisor);
            int row = scaled == 0 ? 0 : 63 - System.Numerics.BitOperations.LeadingZeroCount(scaled);
            rows[row] += _slots[s];
        }
        return rows;
    }

    /// <summary>The histogram as print_log2_hist prints it (<c>usecs : count | distribution</c>, 40-character bars).</summary>
    public string ToLog2Text(string unitLabel = "usecs", ulong divisor = 1000)
    {
        var vals = Log2Counts(divisor);
        int idxMax = -1;
        ulong valMax = 0;
        for (int i = 0; i < vals.Length; i++)
        {
            if (vals[i] > 0) idxMax = i;
            valMax = Math.Max(valMax, vals[i]);
        }
        var sb = new StringBuilder();
        if (idxMax < 0) return sb.ToString();
        bool narrow = idxMax <= 32;
        int starsMax = narrow ? 40 : 20, width = narrow ? 10 : 20;
        sb.Append(' ', narrow ? 5 : 15).Append(unitLabel.PadRight(narrow ? 19 : 29)).Append(" : count    distribution\n");
        for (int i = 0; i <= idxMax; i++)
        {
            ulong low = (1UL << (i + 1)) >> 1, high = (1UL << (i + 1)) - 1;
            if (low == high) low--;
            ulong val = vals[i];
            int stars = (int)((double)Math.Min(val, valMax) * starsMax / valMax);
            sb.Append(low.ToString(CultureInfo.InvariantCulture).PadLeft(width)).Append(" -> ")
              .Append(high.ToString(CultureInfo.InvariantCulture).PadRight(width)).Append(" : ")
              .Append(val.ToString(CultureInfo.InvariantCulture).PadRight(8)).Append(" |")
              .Append('*', stars).Append(' ', starsMax - stars).Append("|\n");
        }
        return sb.ToString();
    }

    /// <summary>A one-line summary for tables.</summary>
    public override string ToString() => Count == 0
        ? "empty"
        : string.Create(CultureInfo.InvariantCulture, $"n={Count} min={Min}{Unit} p50={P50:0}{Unit} p99={P99:0}{Unit} max={Max}{Unit}");
}
