using System.Globalization;
using System.Net;
using System.Text;

namespace KernelDebug.Core.Profiling;

/// <summary>
/// Writes an interactive flame graph as one self-contained SVG: frames as boxes whose width is their share of samples,
/// root at the bottom, with click-to-zoom and a search box in inline script (no external assets).
/// </summary>
public static class FlameGraphWriter
{
    private const int FrameHeight = 16, Top = 36, Bottom = 24, Pad = 10;

    private sealed class Node(string name)
    {
        public string Name { get; } = name;
        public long Total;
        public long Self;
        public Dictionary<string, Node> Children { get; } = new(StringComparer.Ordinal);
    }

    /// <summary>Renders the stacks. An empty input gives a graph that says so.</summary>
    /// <param name="stacks">Folded stacks (merged or not).</param>
    /// <param name="title">Heading.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="countName">What a count is ("samples").</param>
    public static string Render(IEnumerable<FoldedStack> stacks, string title = "Flame Graph", int width = 1200, string countName = "samples", FlameGraphPalette palette = FlameGraphPalette.Hot)
    {
        var root = new Node("all");
        int maxDepth = 0;
        foreach (var s in stacks)
        {
            if (s.Count <= 0) continue;
            root.Total += s.Count;
            var n = root;
            foreach (var f in s.Frames)
            {
                if (!n.Children.TryGetValue(f, out var c)) n.Children[f] = c = new Node(f);
                c.Total += s.Count;
                n = c;
            }
            n.Self += s.Count;
            maxDepth = Math.Max(maxDepth, s.Frames.Count);
        }

        int height = Top + (maxDepth + 1) * FrameHeight + Bottom;
        var sb = new StringBuilder(256 * 1024);
        var ci = CultureInfo.InvariantCulture;
        sb.Append(ci, $"<?xml version=\"1.0\" standalone=\"no\"?>\n<svg version=\"1.1\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" ")
          .Append(ci, $"xmlns=\"http://www.w3.org/2000/svg\" data-total=\"{root.Total}\" data-width=\"{width - 2 * Pad}\" data-count-name=\"{E(countName)}\">\n")
          .Append("<style>text{font-family:Verdana,sans-serif;font-size:12px;fill:#000}.frame rect{stroke:#fff;stroke-width:.5;rx:2}")
          .Append(".frame:hover rect{stroke:#000}.frame text{pointer-events:none}#title{font-size:17px;text-anchor:middle}")
          .Append("#details,#matched{font-size:12px}.hide{display:none}.dim rect{opacity:.5}.match rect{fill:#e040e0 !important}#search,#reset{cursor:pointer}</style>\n")
          .Append(ci, $"<rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"#fafaf5\" id=\"background\"/>\n")
          .Append(ci, $"<text id=\"title\" x=\"{width / 2}\" y=\"22\">{E(title)}</text>\n")
          .Append(ci, $"<text id=\"reset\" x=\"{Pad}\" y=\"22\" class=\"hide\">Reset Zoom</text>\n")
          .Append(ci, $"<text id=\"search\" x=\"{width - Pad - 60}\" y=\"22\">Search</text>\n")
          .Append(ci, $"<text id=\"matched\" x=\"{width - Pad - 160}\" y=\"{height - 6}\"></text>\n")
          .Append(ci, $"<text id=\"details\" x=\"{Pad}\" y=\"{height - 6}\"> </text>\n<g id=\"frames\">\n");

        if (root.Total == 0)
            sb.Append(ci, $"<text x=\"{width / 2}\" y=\"{height / 2}\" text-anchor=\"middle\">No samples.</text>\n");
        else
            WriteNode(sb, root, 0, 0, width, height, root.Total, palette);

        sb.Append("</g>\n<script type=\"text/ecmascript\"><![CDATA[").Append(Script).Append("]]></script>\n</svg>\n");
        return sb.ToString();
    }

    private static void WriteNode(StringBuilder sb, Node n, long start, int depth, int width, int height, long total, FlameGraphPalette palette)
    {
        var ci = CultureInfo.InvariantCulture;
        double scale = (width - 2 * Pad) / (double)total;
        double x = Pad + start * scale, w = n.Total * scale;
        if (w >= 0.1)
        {
            double y = height - Bottom - (depth + 1) * FrameHeight;
            string pct = (100.0 * n.Total / total).ToString("0.##", ci);
            sb.Append(ci, $"<g class=\"frame\" data-name=\"{E(n.Name)}\" data-x=\"{start}\" data-w=\"{n.Total}\" data-d=\"{depth}\">")
              .Append(ci, $"<title>{E(n.Name)} ({n.Total:N0} samples, {pct}%)</title>")
              .Append(ci, $"<rect x=\"{x:0.##}\" y=\"{y:0.#}\" width=\"{w:0.##}\" height=\"{FrameHeight - 1}\" fill=\"{Colour(n.Name, depth == 0, palette)}\"/>")
              .Append(ci, $"<text x=\"{x + 3:0.##}\" y=\"{y + 11.5:0.#}\">{E(Fit(n.Name, w))}</text></g>\n");
        }
        long childStart = start;
        foreach (var c in n.Children.Values.OrderBy(c => c.Name, StringComparer.Ordinal))
        {
            WriteNode(sb, c, childStart, depth + 1, width, height, total, palette);
            childStart += c.Total;
        }
    }

    /// <summary>The label that fits a box of <paramref name="width"/> pixels (about 7 px a character), with ".." when cut.</summary>
    internal static string Fit(string name, double width)
    {
        int chars = (int)((width - 6) / 7);
        if (chars < 3) return "";
        return name.Length <= chars ? name : name[..(chars - 2)] + "..";
    }

    // Warm colours like flamegraph.pl's default palette (blues for off-CPU time, as its --colors=io), stable per name
    // so two graphs compare; the "--" between a blocked stack and its waker's is grey.
    private static string Colour(string name, bool root, FlameGraphPalette palette)
    {
        if (root || name == "--") return "rgb(210,210,210)";
        uint h = 2166136261;
        foreach (char c in name) h = (h ^ c) * 16777619;
        if (palette == FlameGraphPalette.OffCpu)
            return $"rgb({(int)(h % 80)},{100 + (int)((h >> 8) % 90)},{190 + (int)((h >> 16) % 65)})";
        int r = 205 + (int)(h % 50), g = (int)((h >> 8) % 230), b = (int)((h >> 16) % 55);
        return $"rgb({r},{g},{b})";
    }

    private static string E(string s) => WebUtility.HtmlEncode(s);

    private const string Script = """

        var svg = document.documentElement, frames = document.getElementById('frames');
        var W = +svg.getAttribute('data-width'), PAD = 10, total = +svg.getAttribute('data-total');
        var details = document.getElementById('details'), reset = document.getElementById('reset');
        var all = Array.prototype.slice.call(frames.getElementsByClassName('frame'));
        function fit(name, w) { var n = Math.floor((w - 6) / 7); return n < 3 ? '' : (name.length <= n ? name : name.substring(0, n - 2) + '..'); }
        function place(g, x, w) {
          var r = g.getElementsByTagName('rect')[0], t = g.getElementsByTagName('text')[0];
          r.setAttribute('x', x.toFixed(2)); r.setAttribute('width', Math.max(w, 0).toFixed(2));
          t.setAttribute('x', (x + 3).toFixed(2)); t.textContent = fit(g.getAttribute('data-name'), w);
        }
        function zoom(target) {
          var x0 = +target.getAttribute('data-x'), w0 = +target.getAttribute('data-w'), d0 = +target.getAttribute('data-d');
          all.forEach(function (g) {
            var x = +g.getAttribute('data-x'), w = +g.getAttribute('data-w'), d = +g.getAttribute('data-d');
            g.classList.remove('hide', 'dim');
            if (d >= d0 && x >= x0 && x + w <= x0 + w0) place(g, PAD + (x - x0) / w0 * W, w / w0 * W);
            else if (d < d0 && x <= x0 && x + w >= x0 + w0) { g.classList.add('dim'); place(g, PAD, W); }
            else g.classList.add('hide');
          });
          reset.classList.toggle('hide', d0 === 0);
        }
        function unzoom() { if (all.length) zoom(all[0]); }
        frames.addEventListener('click', function (e) { var g = e.target.closest('.frame'); if (g) zoom(g); });
        frames.addEventListener('mouseover', function (e) { var g = e.target.closest('.frame'); if (g) details.textContent = g.getElementsByTagName('title')[0].textContent; });
        reset.addEventListener('click', unzoom);
        document.getElementById('search').addEventListener('click', function () {
          var term = window.prompt('Search frames (regular expression)', '');
          if (term === null) return;
          var re = new RegExp(term), matched = 0, seen = [];
          all.forEach(function (g) {
            var m = term !== '' && re.test(g.getAttribute('data-name'));
            g.classList.toggle('match', m);
            if (m) {
              var x = +g.getAttribute('data-x'), w = +g.getAttribute('data-w');
              if (!seen.some(function (s) { return x >= s[0] && x + w <= s[0] + s[1]; })) { seen.push([x, w]); matched += w; }
            }
          });
          document.getElementById('matched').textContent = term === '' ? '' : 'Matched: ' + (100 * matched / total).toFixed(1) + '%';
        });
        svg.setAttribute('data-ready', 'true');

        """;
}

/// <summary>Colours of a flame graph.</summary>
public enum FlameGraphPalette
{
    /// <summary>Warm colours for CPU samples (flamegraph.pl's default).</summary>
    Hot,
    /// <summary>Blues for time off-CPU (blocked, waiting), as flamegraph.pl's --colors=io.</summary>
    OffCpu,
}
