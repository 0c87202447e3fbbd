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
                if (e is ReportChart c) charts.Add(c);
        return charts;
    }
}
