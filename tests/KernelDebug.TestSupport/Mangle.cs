namespace KernelDebug.TestSupport;

/// <summary>Damaged variants of a good input, for the "truncated and garbage" tests every parser gets.</summary>
public static class Mangle
{
    /// <summary>The first part of the text, cut mid-line.</summary>
    public static string Truncate(string text, double fraction = 0.6)
    {
        int n = Math.Clamp((int)(text.Length * fraction), 0, text.Length);
        // Cut inside a line, never exactly at a newline.
        while (n > 0 && n < text.Length && text[n - 1] == '\n') n--;
        return text[..n];
    }

    /// <summary>The text with random lines replaced by noise, some fields turned into letters, and junk bytes.</summary>
    public static string Garbage(string text, int seed = 1)
    {
        var rng = new Random(seed);
        var lines = text.Split('\n').ToList();
        for (int i = 0; i < lines.Count; i++)
        {
            switch (rng.Next(6))
            {
                case 0: lines[i] = new string(Enumerable.Range(0, rng.Next(0, 40)).Select(_ => (char)rng.Next(1, 0x2FF)).ToArray()); break;
                case 1: lines[i] = lines[i].Replace('1', 'x').Replace('0', '-'); break;
                case 2: lines[i] = lines[i].Length > 3 ? lines[i][..(lines[i].Length / 2)] : lines[i]; break;
                case 3: lines[i] = lines[i] + " 99999999999999999999999999 extra"; break;
                default: break;
            }
        }
        lines.Insert(rng.Next(lines.Count + 1), "\u0000\u0001\ufffd garbage line");
        return string.Join('\n', lines);
    }

    /// <summary>Random bytes decoded as text.</summary>
    public static string RandomText(int length, int seed) =>
        new(Enumerable.Range(0, length).Select(i => (char)new Random(seed * 7919 + i).Next(0, 0x7F)).ToArray());
}
