using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Procfs;

/// <summary>One line of <c>/proc/mounts</c>.</summary>
public sealed record MountEntry(string Device, string MountPoint, string FileSystemType, string Options);

/// <summary>Parses <c>/proc/mounts</c> (fstab format; octal escapes such as <c>\040</c> in paths decoded).</summary>
public static class MountsParser
{
    /// <summary>Returns every well-formed line; malformed ones go to <paramref name="ctx"/>.</summary>
    public static IReadOnlyList<MountEntry> Parse(ReadOnlySpan<char> text, ParseContext ctx)
    {
        var result = new List<MountEntry>();
        int n = 0;
        foreach (var line in text.EnumerateLines())
        {
            n++;
            if (line.IsWhiteSpace()) continue;
            var f = Fields.Split(line);
            var dev = f.Next(); var mp = f.Next(); var type = f.Next(); var opts = f.Next();
            if (opts.IsEmpty) { ctx.Warn(n, "expected device, mount point, type and options", line); continue; }
            result.Add(new MountEntry(Unescape(dev), Unescape(mp), type.ToString(), opts.ToString()));
        }
        return result;
    }

    /// <summary>The mount points of a file system type (e.g. <c>tracefs</c>) on a root, most recent mount last.</summary>
    public static IReadOnlyList<string> FindMountPoints(KernelRoot root, string fileSystemType)
    {
        string? text = root.TryReadText("proc/mounts", 4 << 20) ?? root.TryReadText("proc/self/mounts", 4 << 20);
        if (text is null) return Array.Empty<string>();
        return Parse(text, new ParseContext("/proc/mounts")).Where(m => m.FileSystemType == fileSystemType).Select(m => m.MountPoint).ToArray();
    }

    private static string Unescape(ReadOnlySpan<char> s)
    {
        if (s.IndexOf('\\') < 0) return s.ToString();
        var sb = new System.Text.StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 3 < s.Length && IsOctal(s[i + 1]) && IsOctal(s[i + 2]) && IsOctal(s[i + 3]))
            {
                sb.Append((char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
                i += 3;
            }
            else sb.Append(s[i]);
        }
        return sb.ToString();
    }

    private static bool IsOctal(char c) => c is >= '0' and <= '7';
}
