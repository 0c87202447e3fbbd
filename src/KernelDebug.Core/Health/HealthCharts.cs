using KernelDebug.Core.Bpf;

namespace KernelDebug.Core.Health;

/// <summary>
/// Turns the evidence of findings into report charts. The one place that knows which record types chart how;
/// an area whose records deserve a chart adds a case here.
/// </summary>
public static class HealthCharts
{
    /// <summary>Charts for a set of findings (none when no evidence is chartable).</summary>
    public static IReadOnlyList<ReportChart> From(IEnumerable<KernelHealthFinding> findings)
    {
        var charts = new List<ReportChart>();
        foreach (var f in findings)
            foreach (var e in f.Evidence)
            {
                switch (e)
                {
                    case ReportChart c: charts.Add(c); break;
                    case SyscallLatency s when s.Histogram.Count > 0: charts.Add(FromHistogram($"{s.Syscall} latency ({s.Count:N0} calls)", s.Histogram)); break;
                    case Bpf.Tools.MemoryReclaim r when r.Histogram.Count > 0 && !charts.Any(c => c.Title.Contains("reclaim stalls")):
                        charts.Add(FromHistogram($"{r.Kind} reclaim stalls of {r.Command} ({r.Count:N0})", r.Histogram)); break;
                }
            }
        return charts;
    }

    /// <summary>A latency histogram as the report's bar chart, in microseconds on the power-of-two rows print_log2_hist uses.</summary>
    public static ReportChart FromHistogram(string title, Histogram h)
    {
        var counts = h.Log2Counts(1000);
        int last = Array.FindLastIndex(counts, c => c > 0);
        var points = new List<ChartPoint>();
        for (int i = 0; i <= last; i++) points.Add(new ChartPoint(i == 0 ? "0" : $"{1UL << (i - 1)}", counts[i]));
        return new ReportChart(title, "usecs", "histogram", points);
    }
}
