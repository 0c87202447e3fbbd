namespace KernelDebug.Core.Kmsg;

/// <summary>
/// How a log was pasted: a leading <c>&gt; </c> quote marker (mail, chat, issue trackers), an indent added to every
/// line, tabs where the tool wrote spaces, or a prefix of some other tool in front of the kernel's own timestamp
/// (<c>host1 | [  12.345678] ...</c>, a serial-console logger's clock). Found from a file's first lines and taken off
/// every line before parsing, only when that lets more of those lines be read as a known format.
/// </summary>
internal sealed class PasteShape
{
    private bool _quote, _tabs, _cutToTimestamp;
    private int _indent;
    private string? _prefix;
    private char[] _buffer = new char[256];

    /// <summary>The longest prefix before a kernel timestamp that is taken for another tool's.</summary>
    private const int MaxForeignPrefix = 64;

    /// <summary>
    /// The shape of <paramref name="lines"/> without a foreign prefix: a quote marker on most lines, an indent on all,
    /// tabs in the first columns of most. Null when they need none.
    /// </summary>
    public static PasteShape? Guess(IReadOnlyList<string> lines)
    {
        int nonEmpty = 0, quoted = 0, tabbed = 0, minIndent = int.MaxValue;
        var s = new PasteShape();
        foreach (var raw in lines)
        {
            if (raw.AsSpan().Trim().IsEmpty) continue;
            nonEmpty++;
            if (raw.AsSpan(0, Math.Min(raw.Length, 40)).Contains('\t')) tabbed++;
            if (raw.AsSpan().TrimStart(' ').StartsWith(">")) quoted++;
        }
        if (nonEmpty == 0) return null;
        s._quote = quoted * 2 > nonEmpty;
        s._tabs = tabbed * 2 > nonEmpty;
        foreach (var raw in lines)
        {
            var line = s.Unquote(raw.AsSpan());
            if (line.Trim().IsEmpty) continue;
            int indent = 0;
            while (indent < line.Length && line[indent] is ' ' or '\t') indent++;
            minIndent = Math.Min(minIndent, indent);
        }
        s._indent = minIndent == int.MaxValue ? 0 : minIndent;
        return s._quote || s._tabs || s._indent > 0 ? s : null;
    }

    /// <summary>
    /// <paramref name="shape"/> (or none) plus another tool's prefix before the kernel timestamp most lines carry: one
    /// string on every line, else whatever stands before the timestamp. Null when most lines carry no such prefix.
    /// </summary>
    public static PasteShape? WithForeignPrefix(PasteShape? shape, IReadOnlyList<string> lines)
    {
        var s = shape is null ? new PasteShape() : new PasteShape { _quote = shape._quote, _tabs = shape._tabs, _indent = shape._indent };
        int nonEmpty = 0, withStamp = 0;
        string? common = null;
        bool commonOk = true;
        foreach (var raw in lines)
        {
            var line = s.Shape(raw.AsSpan(), strip: false);
            if (line.Trim().IsEmpty) continue;
            nonEmpty++;
            int at = TimestampAt(line);
            if (at <= 0) continue;
            withStamp++;
            var p = line[..at];
            if (common is null) common = p.ToString();
            else if (!p.SequenceEqual(common)) commonOk = false;
        }
        if (withStamp * 2 <= nonEmpty) return null;
        if (commonOk && common is not null) s._prefix = common;
        else s._cutToTimestamp = true;
        return s;
    }

    /// <summary>The line as the kernel's tool printed it (valid until the next call).</summary>
    public ReadOnlySpan<char> Apply(ReadOnlySpan<char> line) => Shape(line, strip: true);

    private ReadOnlySpan<char> Shape(ReadOnlySpan<char> line, bool strip)
    {
        line = Unquote(line);
        int k = 0;
        while (k < _indent && k < line.Length && line[k] is ' ' or '\t') k++;
        line = line[k..];
        if (_tabs && line.Contains('\t'))
        {
            if (_buffer.Length < line.Length) _buffer = new char[line.Length * 2];
            var b = _buffer.AsSpan(0, line.Length);
            line.CopyTo(b);
            b.Replace('\t', ' ');
            line = b;
        }
        if (!strip) return line;
        if (_prefix is not null && line.StartsWith(_prefix)) line = line[_prefix.Length..];
        else if (_cutToTimestamp && TimestampAt(line) is > 0 and var at) line = line[at..];
        return line;
    }

    private ReadOnlySpan<char> Unquote(ReadOnlySpan<char> line)
    {
        if (!_quote) return line;
        var t = line.TrimStart(' ');
        if (t.IsEmpty || t[0] != '>') return line;
        // "> text", nested "> > text": one blank after each marker belongs to it; the line's own indent stays.
        while (!t.IsEmpty && t[0] == '>')
        {
            t = t[1..];
            if (!t.IsEmpty && t[0] == ' ') t = t[1..];
        }
        return t;
    }

    // Where a console timestamp "[   12.345678]" or "<6>[ ..." starts, within the first characters of a line; -1 if none.
    private static int TimestampAt(ReadOnlySpan<char> line)
    {
        int limit = Math.Min(line.Length, MaxForeignPrefix + 1);
        for (int i = 0; i < limit; i++)
        {
            if (line[i] != '[') continue;
            int close = line[i..].IndexOf(']');
            if (close < 3 || !ConsolePrefix.TryParseSeconds(line.Slice(i + 1, close - 1).Trim(), out _)) continue;
            int start = i;
            // Keep a "<6>" level in front with it.
            if (start >= 3 && line[start - 1] == '>' && line[..(start - 1)].LastIndexOf('<') is int lt and >= 0 && start - lt <= 5) start = lt;
            return start;
        }
        return -1;
    }
}

/// <summary>
/// Lines that are not the kernel's but turn up in pasted logs: a shell prompt and the command typed, a <c>...</c>
/// where the user left lines out, journal markers, user-space syslog lines (<c>systemd[1]: ...</c>), firmware and
/// bootloader banners. They are neither messages nor parts of one.
/// </summary>
internal static class PasteNoise
{
    private static readonly string[] Elisions = ["...", "\u2026", "[...]", "[\u2026]", "<snip>", "[snip]", "(snip)", "-- snip --", "---8<---", "--- 8< ---", "8<---"];

    private static readonly string[] Banners =
    [
        "SeaBIOS (version", "iPXE (", "Booting from ", "Welcome to GRUB", "GRUB loading", "Loading Linux ", "Loading initial ramdisk",
        "BdsDxe: ", "UEFI Interactive Shell", "Press ESC in ", "U-Boot ", "Hit any key to stop autoboot", "Starting kernel ...",
        "Welcome to Debian", "Welcome to Ubuntu", "Welcome to Fedora",
    ];

    private static readonly string[] JournalMarkers = ["-- Logs begin at ", "-- Journal begins at ", "-- Boot ", "-- No entries --", "-- Reboot --"];

    /// <summary>True for a line without a kernel prefix that is not the kernel's (see the type).</summary>
    public static bool IsForeign(ReadOnlySpan<char> line)
    {
        var t = line.Trim();
        if (t.IsEmpty) return false;
        char c = t[0];
        // The common case, the continuation of a kernel message, is indented or starts with a letter the rules below
        // do not start with: cheap tests first.
        if (c == '.' || c == '\u2026' || c == '[' || c == '<' || c == '(' || c == '-' || c == '8')
        {
            foreach (var e in Elisions) if (t.SequenceEqual(e)) return true;
            foreach (var m in JournalMarkers) if (t.StartsWith(m)) return true;
            return false;
        }
        if (c is '$' or '#' or '%') return t.Length == 1 || t[1] == ' ';
        foreach (var b in Banners) if (t.StartsWith(b)) return true;
        return IsPrompt(t) || IsUserSyslog(t);
    }

    // "root@web1:~# dmesg", "user@host:/var/log$ journalctl -k", "[root@web1 ~]# dmesg", "PS /root> Get-KernelMessage".
    private static bool IsPrompt(ReadOnlySpan<char> t)
    {
        if (t.StartsWith("PS ") && t.IndexOf("> ") is > 3) return true;
        int at = t.IndexOf('@');
        if (at <= 0 || at > 32) return false;
        for (int i = 0; i < at; i++) if (!(char.IsAsciiLetterOrDigit(t[i]) || t[i] is '_' or '-' or '.')) return false;
        int end = t.IndexOfAny("#$");
        if (end <= at || end > 96) return false;
        return end + 1 == t.Length || t[end + 1] == ' ';
    }

    // "systemd[1]: Started ...", "sudo[123]: ...", and with a syslog date and host in front: a user-space program's
    // line, as an export of the whole journal or a paste of syslog around the kernel's lines carries them.
    private static bool IsUserSyslog(ReadOnlySpan<char> t)
    {
        if (t.Length > 16 && t[3] == ' ' && char.IsAsciiLetterUpper(t[0]) && t[..16].IndexOf(':') > 0)
        {
            // "Nov 27 07:52:28 host ident[pid]: " — skip date and host.
            int sp = 0, i = 0;
            for (; i < t.Length && sp < 4; i++) if (t[i] == ' ' && t[i - 1] != ' ') sp++;
            if (sp == 4) return IsIdentPid(t[i..]) && !t[i..].StartsWith("kernel");
        }
        return IsIdentPid(t);
    }

    private static bool IsIdentPid(ReadOnlySpan<char> t)
    {
        int open = t.IndexOf('[');
        if (open <= 0 || open > 48) return false;
        for (int i = 0; i < open; i++) if (!(char.IsAsciiLetterOrDigit(t[i]) || t[i] is '_' or '-' or '.' or '/' or '@')) return false;
        int close = open + 1;
        while (close < t.Length && char.IsAsciiDigit(t[close])) close++;
        return close > open + 1 && close + 1 < t.Length && t[close] == ']' && t[close + 1] == ':';
    }

    /// <summary>True when a syslog ident (<c>kernel</c>, <c>systemd[1]</c>) is the kernel's.</summary>
    public static bool IsKernelIdent(ReadOnlySpan<char> ident) => ident.SequenceEqual("kernel") || ident.StartsWith("kernel[");
}
