using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Kmsg;

/// <summary>
/// The first line of a pstore dmesg record, <c>Oops#1 Part2</c> (fs/pstore/platform.c writes <c>"%s#%d Part%u"</c>:
/// the dump reason, the dump count since boot, and the part). The kernel fills Part1 with the newest end of the log
/// and higher parts with older text, so a record reads in order from its highest part down to Part1.
/// </summary>
/// <param name="Reason">Why the log was dumped: Panic, Oops, Emergency, Restart, Halt, Poweroff, Shutdown.</param>
/// <param name="Count">The dump's number since the crashed boot began.</param>
/// <param name="Part">The part number (1 = newest text).</param>
public readonly record struct PstoreHeader(string Reason, int Count, int Part)
{
    /// <summary>Parses a header line; false when the line is not one.</summary>
    public static bool TryParse(ReadOnlySpan<char> line, out PstoreHeader header)
    {
        header = default;
        int hash = line.IndexOf('#');
        int part = line.IndexOf(" Part");
        if (hash <= 0 || part <= hash + 1 || part + 5 >= line.Length) return false;
        var reason = line[..hash];
        foreach (char c in reason) if (!char.IsAsciiLetter(c)) return false;
        if (!Fields.TryLong(line[(hash + 1)..part], out long count) || count < 0 || count > int.MaxValue) return false;
        if (!Fields.TryLong(line[(part + 5)..].TrimEnd(), out long p) || p < 0 || p > int.MaxValue) return false;
        header = new PstoreHeader(reason.ToString(), (int)count, (int)p);
        return true;
    }

    /// <summary>Whether a file name is a pstore dmesg record: <c>dmesg-&lt;backend&gt;-&lt;id&gt;</c> (optionally <c>.enc.z</c>).</summary>
    public static bool IsPstoreFileName(string fileName) =>
        fileName.StartsWith("dmesg-", StringComparison.Ordinal) && fileName.IndexOf('-', 6) > 6;

    /// <summary>The backend part of a pstore file name (<c>efi</c>, <c>ramoops</c>, <c>erst</c>, ...).</summary>
    public static string Backend(string fileName)
    {
        int dash = fileName.IndexOf('-', 6);
        return dash > 6 ? fileName[6..dash] : "";
    }
}
