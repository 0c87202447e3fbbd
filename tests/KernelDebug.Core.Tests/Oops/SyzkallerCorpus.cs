using System.Text;

namespace KernelDebug.Core.Tests.Oops;

/// <summary>One syzkaller report case: expected headers and the console log (format: the corpus README).</summary>
public sealed record CorpusCase(string Name, string Title, IReadOnlyList<string> Alt, string? Type, string? Frame,
    bool Corrupted, bool Suppressed, bool Panicked, string Log)
{
    public bool HasCrash => Title.Length > 0;

    public static CorpusCase Load(string path)
    {
        string text = File.ReadAllText(path).Replace("\r", "");
        int pos = 0;
        string title = "";
        var alt = new List<string>();
        string? type = null, frame = null;
        bool corrupted = false, suppressed = false, panicked = false;
        while (pos < text.Length)
        {
            int nl = text.IndexOf('\n', pos);
            string line = nl < 0 ? text[pos..] : text[pos..nl];
            pos = nl < 0 ? text.Length : nl + 1;
            if (line.Length == 0) break;
            if (line.StartsWith('#')) continue;
            int colon = line.IndexOf(':');
            if (colon < 0) continue;
            string key = line[..colon], value = line[(colon + 1)..].Trim();
            switch (key)
            {
                case "TITLE": title = value; break;
                case "ALT": alt.Add(value); break;
                case "TYPE": type = value; break;
                case "FRAME": frame = value; break;
                case "CORRUPTED": corrupted = value == "Y"; break;
                case "SUPPRESSED": suppressed = value == "Y"; break;
                case "PANICKED": panicked = value == "Y"; break;
            }
        }
        string log = text[pos..];
        int report = log.IndexOf("\n\nREPORT:\n", StringComparison.Ordinal);
        if (report >= 0) log = log[..(report + 1)];
        return new CorpusCase(Path.GetFileName(path), title, alt, type, frame, corrupted, suppressed, panicked, log);
    }
}
