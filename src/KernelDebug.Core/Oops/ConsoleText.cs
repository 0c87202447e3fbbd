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
        var p = ConsolePrefix.Parse(line);
        return new KernelMessage
        {
            Text = line[p.TextStart..],
            Uptime = p.Uptime,
            Level = p.Level,
            Facility = p.Facility,
            ThreadId = p.ThreadId,
            CpuId = p.CpuId,
            Source = source,
            LineNumber = lineNumber,
        };
    }
}
