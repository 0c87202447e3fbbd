using KernelDebug.Core.Kmsg;

namespace KernelDebug.Core.Oops;

/// <summary>
/// Raw console text (serial console captures, <c>dmesg</c> output, syzkaller logs) as <see cref="KernelMessage"/>s,
/// one per line, prefixes parsed by <see cref="ConsolePrefix"/>. Only for plain text: format detection of kmsg
/// dumps, journal exports and pstore files belongs to the Kmsg readers.
/// </summary>
public static class ConsoleText
{
    /// <summary>Reads every line of <paramref name="reader"/> lazily (streaming, never throws on content).</summary>
    public static IEnumerable<KernelMessage> Read(TextReader reader, string? source = null)
    {
        int n = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            n++;
            yield return ToMessage(line, source, n);
        }
    }

    /// <summary>Splits already loaded text into messages.</summary>
    public static IEnumerable<KernelMessage> Split(string text, string? source = null) => Read(new StringReader(text), source);

    /// <summary>One console line as a message.</summary>
    public static KernelMessage ToMessage(string line, string? source, int lineNumber)
    {
        if (line.Contains('\r')) line = line.Replace("\r", "");
        var span = line.AsSpan();
        int skip = ConsoleNoise(span);
        var p = ConsolePrefix.Parse(span[skip..]);
        if (p.TextStart == 0 && skip > 0) skip = 0;   // the noise was not before a prefix after all
        return new KernelMessage
        {
            Text = line[(skip + p.TextStart)..],
            Uptime = p.Uptime,
            Level = p.Level,
            Facility = p.Facility,
            ThreadId = p.ThreadId,
            CpuId = p.CpuId,
            Source = source,
            LineNumber = lineNumber,
        };
    }

    // Serial consoles mix in "** 5 printk messages dropped ** " and a login prompt ("host login: ")
    // before the kernel's own prefix.
    private static int ConsoleNoise(ReadOnlySpan<char> line)
    {
        int i = 0;
        if (line.StartsWith("** "))
        {
            int end = line[3..].IndexOf(" ** ");
            if (end >= 0 && line[3..(3 + end)].EndsWith("printk messages dropped")) i = 3 + end + 4;
        }
        int login = line[i..].IndexOf(" login: ");
        if (login >= 0 && i + login + 8 < line.Length && line[i + login + 8] is '[' or '<') i += login + 8;
        return i;
    }
}
