using System.Globalization;
using System.Net;
using System.Text;
using KernelDebug.Core.Inventory;

namespace KernelDebug.Core.Health;

/// <summary>A labelled value for a report chart.</summary>
public sealed record ChartPoint(string Label, double Value);

/// <summary>A chart the report draws as inline SVG.</summary>
/// <param name="Title">Heading above the chart.</param>
/// <param name="Unit">How values print: "bytes", "percent", or a plain unit label ("usecs", "count").</param>
/// <param name="Kind">"bar" (horizontal bars), "line" (a series over time) or "histogram" (vertical bars).</param>
/// <param name="Points">The values in display order.</param>
public sealed record ReportChart(string Title, string Unit, string Kind, IReadOnlyList<ChartPoint> Points);

/// <summary>
/// Writes the health report: one self-contained HTML file (inline CSS and SVG, no external assets) with the host
/// summary, findings by severity with their evidence, and charts. Pure: takes data, returns text.
/// </summary>
public static class HealthReportWriter
{
    /// <summary>Renders the report.</summary>
    public static string Render(KernelInfo? host, IReadOnlyList<KernelHealthFinding> findings, IReadOnlyList<ReportChart> charts, DateTimeOffset generatedAt)
    {
        var sb = new StringBuilder(64 * 1024);
        string title = $"Kernel health report — {host?.HostName ?? "unknown host"}";
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
          .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
          .Append("<title>").Append(E(title)).Append("</title><style>").Append(Css).Append("</style></head><body>\n");
        sb.Append("<header><h1>").Append(E(title)).Append("</h1><p class=\"meta\">Generated ")
          .Append(E(generatedAt.ToString("yyyy-MM-dd HH:mm:ss zzz", CultureInfo.InvariantCulture))).Append(" by KernelDebug</p></header>\n");

        WriteSummary(sb, host, findings);
        WriteCounts(sb, findings);
        WriteFindings(sb, findings);
        if (charts.Count > 0)
        {
            sb.Append("<section id=\"charts\"><h2>Charts</h2><div class=\"charts\">\n");
            foreach (var c in charts) WriteChart(sb, c);
            sb.Append("</div></section>\n");
        }
        sb.Append("<script>").Append(Script).Append("</script>\n</body></html>\n");
        return sb.ToString();
    }

    private static void WriteSummary(StringBuilder sb, KernelInfo? h, IReadOnlyList<KernelHealthFinding> findings)
    {
        sb.Append("<section id=\"host\"><h2>Host</h2><table class=\"kv\">");
        void Row(string k, string? v) => sb.Append("<tr><th>").Append(E(k)).Append("</th><td>").Append(E(v ?? "—")).Append("</td></tr>");
        if (h is not null)
        {
            Row("Host name", h.HostName);
            Row("Kernel release", h.Release);
            Row("Architecture", h.Architecture);
            Row("Boot time", h.BootTime?.ToString("yyyy-MM-dd HH:mm:ss zzz", CultureInfo.InvariantCulture));
            Row("Uptime", h.Uptime is { } u ? $"{(int)u.TotalDays}d {u:hh\\:mm\\:ss}" : null);
            Row("CPUs", h.CpuCount.ToString(CultureInfo.InvariantCulture));
            Row("Taint", h.Taint?.ToString());
            Row("Lockdown", h.Lockdown);
            Row("Command line", h.CommandLine);
        }
        var worst = findings.Count == 0 ? HealthSeverity.Ok : findings.Max(f => f.Severity);
        Row("Overall", worst.ToString());
        sb.Append("</table></section>\n");
    }

    private static void WriteCounts(StringBuilder sb, IReadOnlyList<KernelHealthFinding> findings)
    {
        sb.Append("<section id=\"counts\"><h2>Findings by severity</h2><div class=\"counts\">");
        foreach (var s in Enum.GetValues<HealthSeverity>().Reverse())
        {
            int n = findings.Count(f => f.Severity == s);
            sb.Append("<label class=\"count sev-").Append(s.ToString().ToLowerInvariant()).Append("\"><input type=\"checkbox\" checked data-sev=\"")
              .Append(s).Append("\"> ").Append(s).Append(": <b>").Append(n).Append("</b></label>");
        }
        sb.Append("</div></section>\n");
    }

    private static void WriteFindings(StringBuilder sb, IReadOnlyList<KernelHealthFinding> findings)
    {
        sb.Append("<section id=\"findings\"><h2>Findings</h2><table id=\"findings-table\" class=\"findings\"><thead><tr>")
          .Append("<th>Severity</th><th>Check</th><th>Area</th><th>Message</th><th>Recommendation</th></tr></thead><tbody>\n");
        foreach (var f in findings.OrderByDescending(f => f.Severity).ThenBy(f => f.CheckId, StringComparer.Ordinal))
        {
            string sev = f.Severity.ToString();
            sb.Append("<tr class=\"finding sev-").Append(sev.ToLowerInvariant()).Append("\" data-sev=\"").Append(sev).Append("\" data-check=\"").Append(E(f.CheckId)).Append("\">")
              .Append("<td><span class=\"badge\">").Append(sev).Append("</span></td>")
              .Append("<td><code>").Append(E(f.CheckId)).Append("</code> ").Append(E(f.Check)).Append("</td>")
              .Append("<td>").Append(f.Area).Append("</td>")
              .Append("<td>").Append(E(f.Message));
            if (f.Evidence.Count > 0) WriteEvidence(sb, f.Evidence);
            sb.Append("</td><td>").Append(E(f.Recommendation ?? "")).Append("</td></tr>\n");
        }
        sb.Append("</tbody></table></section>\n");
    }

    private static void WriteEvidence(StringBuilder sb, IReadOnlyList<object> evidence)
    {
        sb.Append("<details><summary>Evidence (").Append(evidence.Count).Append(")</summary>");
        foreach (var group in evidence.Take(200).GroupBy(e => e.GetType()))
        {
            var props = group.Key.GetProperties().Where(p => p.GetIndexParameters().Length == 0 && IsScalar(p.PropertyType)).Take(12).ToArray();
            if (props.Length == 0)
            {
                foreach (var e in group) sb.Append("<pre>").Append(E(e.ToString())).Append("</pre>");
                continue;
            }
            sb.Append("<table class=\"evidence\"><tr>");
            foreach (var p in props) sb.Append("<th>").Append(E(p.Name)).Append("</th>");
            sb.Append("</tr>");
            foreach (var e in group)
            {
                sb.Append("<tr>");
                foreach (var p in props) sb.Append("<td>").Append(E(Format(p.GetValue(e)))).Append("</td>");
                sb.Append("</tr>");
            }
            sb.Append("</table>");
        }
        sb.Append("</details>");
    }

    private static bool IsScalar(Type t)
    {
        t = Nullable.GetUnderlyingType(t) ?? t;
        return t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(decimal) || t == typeof(DateTimeOffset)
            || t == typeof(DateTime) || t == typeof(TimeSpan) || t.Name == nameof(KernelTaint);
    }

    private static string Format(object? v) => v switch
    {
        null => "",
        double d => d.ToString("0.##", CultureInfo.InvariantCulture),
        DateTimeOffset t => t.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };

    private static void WriteChart(StringBuilder sb, ReportChart c)
    {
        sb.Append("<figure class=\"chart\" data-kind=\"").Append(E(c.Kind)).Append("\"><figcaption>").Append(E(c.Title)).Append("</figcaption>");
        if (c.Points.Count == 0) { sb.Append("<p>No data.</p></figure>"); return; }
        switch (c.Kind)
        {
            case "line": LineChart(sb, c); break;
            case "histogram": Histogram(sb, c); break;
            default: BarChart(sb, c); break;
        }
        sb.Append("</figure>\n");
    }

    private static void BarChart(StringBuilder sb, ReportChart c)
    {
        const int barH = 18, gap = 6, labelW = 170, chartW = 300, valueW = 90;
        int h = c.Points.Count * (barH + gap) + gap;
        double max = Math.Max(c.Points.Max(p => p.Value), 1e-9);
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{labelW + chartW + valueW}\" height=\"{h}\" role=\"img\">");
        for (int i = 0; i < c.Points.Count; i++)
        {
            var p = c.Points[i];
            int y = gap + i * (barH + gap);
            double w = Math.Max(1, p.Value / max * chartW);
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{labelW - 6}\" y=\"{y + 13}\" text-anchor=\"end\">{E(Trim(p.Label, 26))}</text>")
              .Append(CultureInfo.InvariantCulture, $"<rect class=\"bar\" x=\"{labelW}\" y=\"{y}\" width=\"{w:0.#}\" height=\"{barH}\"><title>{E(p.Label)}: {E(FormatValue(p.Value, c.Unit))}</title></rect>")
              .Append(CultureInfo.InvariantCulture, $"<text x=\"{labelW + w + 4:0.#}\" y=\"{y + 13}\">{E(FormatValue(p.Value, c.Unit))}</text>");
        }
        sb.Append("</svg>");
    }

    /// <summary>Width of one character of the report's small axis font (11 px sans-serif), with room to spare.</summary>
    internal const double SmallCharWidth = 7.0;

    /// <summary>
    /// Label every step-th bar so that neighbouring labels (centred under their bars) never overlap: the distance
    /// between two labelled bars must hold the widest label plus a gap.
    /// </summary>
    internal static int AxisLabelStep(int bars, double barWidth, int maxLabelChars)
    {
        double need = maxLabelChars * SmallCharWidth + 8;
        return Math.Max(1, Math.Min(bars, (int)Math.Ceiling(need / Math.Max(barWidth, 0.1))));
    }

    private static void Histogram(StringBuilder sb, ReportChart c)
    {
        const int w = 560, h = 200, pad = 30;
        double max = Math.Max(c.Points.Max(p => p.Value), 1e-9);
        double bw = (w - 2 * pad) / (double)c.Points.Count;
        int step = AxisLabelStep(c.Points.Count, bw, c.Points.Max(p => p.Label.Length));
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h + 40}\" role=\"img\">");
        for (int i = 0; i < c.Points.Count; i++)
        {
            var p = c.Points[i];
            double bh = p.Value / max * h;
            double x = pad + i * bw;
            sb.Append(CultureInfo.InvariantCulture, $"<rect class=\"bar\" x=\"{x:0.#}\" y=\"{h - bh:0.#}\" width=\"{Math.Max(1, bw - 1):0.#}\" height=\"{bh:0.#}\"><title>{E(p.Label)} {E(c.Unit)}: {p.Value:0}</title></rect>");
            if (i % step == 0)
                sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{x + bw / 2:0.#}\" y=\"{h + 14}\" text-anchor=\"middle\" class=\"small\">{E(p.Label)}</text>");
        }
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{w / 2}\" y=\"{h + 34}\" text-anchor=\"middle\">{E(c.Unit)}</text></svg>");
    }

    private static void LineChart(StringBuilder sb, ReportChart c)
    {
        const int w = 560, h = 180, pad = 36;
        double max = c.Unit == "percent" ? 100 : Math.Max(c.Points.Max(p => p.Value), 1e-9);
        int n = c.Points.Count;
        string Pt(int i) => string.Create(CultureInfo.InvariantCulture,
            $"{pad + (n == 1 ? 0 : i * (w - 2 * pad) / (double)(n - 1)):0.#},{h - c.Points[i].Value / max * (h - 10):0.#}");
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h + 30}\" role=\"img\">")
          .Append(CultureInfo.InvariantCulture, $"<line x1=\"{pad}\" y1=\"{h}\" x2=\"{w - pad}\" y2=\"{h}\" class=\"axis\"/>")
          .Append(CultureInfo.InvariantCulture, $"<text x=\"2\" y=\"14\" class=\"small\">{E(FormatValue(max, c.Unit))}</text>")
          .Append("<polyline class=\"line\" points=\"").Append(string.Join(' ', Enumerable.Range(0, n).Select(Pt))).Append("\"/>");
        for (int i = 0; i < n; i++)
        {
            var xy = Pt(i).Split(',');
            sb.Append("<circle r=\"3\" cx=\"").Append(xy[0]).Append("\" cy=\"").Append(xy[1]).Append("\"><title>")
              .Append(E(c.Points[i].Label)).Append(": ").Append(E(FormatValue(c.Points[i].Value, c.Unit))).Append("</title></circle>");
        }
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{pad}\" y=\"{h + 20}\" class=\"small\">{E(c.Points[0].Label)}</text>")
          .Append(CultureInfo.InvariantCulture, $"<text x=\"{w - pad}\" y=\"{h + 20}\" text-anchor=\"end\" class=\"small\">{E(c.Points[^1].Label)}</text></svg>");
    }

    /// <summary>Formats a chart value in human units.</summary>
    public static string FormatValue(double v, string unit) => unit switch
    {
        "bytes" => HealthChecks.FormatBytes((long)v),
        "percent" => v.ToString("0.#", CultureInfo.InvariantCulture) + " %",
        _ => v.ToString("0.##", CultureInfo.InvariantCulture) + (unit.Length > 0 ? " " + unit : ""),
    };

    private static string Trim(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "…";
    private static string E(string? s) => WebUtility.HtmlEncode(s ?? "");

    private const string Css = """
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 2rem 3rem;color:#1b1f24;background:#fafbfc}
        h1{font-size:1.6rem;margin:1.2rem 0 .2rem}h2{font-size:1.15rem;margin:1.6rem 0 .5rem;border-bottom:1px solid #d0d7de}
        .meta{color:#57606a;margin:0}table{border-collapse:collapse;background:#fff}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
        .kv th{background:#f6f8fa;width:11rem}.findings{width:100%}.findings thead th{background:#f6f8fa}
        .badge{display:inline-block;min-width:5.5rem;text-align:center;border-radius:3px;padding:1px 6px;font-weight:600;color:#fff;background:#6e7781}
        .sev-critical .badge{background:#82071e}.sev-error .badge{background:#cf222e}.sev-warning .badge{background:#bf8700}
        .sev-info .badge{background:#0969da}.sev-ok .badge{background:#1a7f37}
        .counts{display:flex;gap:1rem;flex-wrap:wrap}.count{border:1px solid #d0d7de;border-radius:4px;padding:4px 10px;background:#fff;cursor:pointer}
        details{margin-top:4px}summary{cursor:pointer;color:#0969da}.evidence{font-size:12px;margin-top:4px}pre{white-space:pre-wrap;margin:2px 0}
        .charts{display:flex;flex-wrap:wrap;gap:2rem}figure{margin:0;background:#fff;border:1px solid #d0d7de;padding:.6rem}
        figcaption{font-weight:600;margin-bottom:.4rem}svg text{font-size:12px;fill:#1b1f24}svg .small{font-size:10px;fill:#57606a}
        .bar{fill:#0969da}.line{fill:none;stroke:#0969da;stroke-width:2}.axis{stroke:#8c959f}circle{fill:#0969da}
        tr.hidden{display:none}
        """;

    // Severity filter: the checkboxes hide or show finding rows. No external script, no network.
    private const string Script = """
        document.querySelectorAll('input[data-sev]').forEach(function (box) {
          box.addEventListener('change', function () {
            document.querySelectorAll('tr.finding[data-sev="' + box.dataset.sev + '"]').forEach(function (row) {
              row.classList.toggle('hidden', !box.checked);
            });
          });
        });
        document.body.dataset.ready = 'true';
        """;
}
