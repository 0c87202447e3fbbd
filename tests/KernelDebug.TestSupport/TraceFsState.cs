using KernelDebug.Core;
using KernelDebug.Core.Tracing;

namespace KernelDebug.TestSupport;

/// <summary>
/// The top tracefs instance's global state, for the "leave the kernel as found" assertion of every tracing test:
/// take a snapshot before, compare it byte for byte after. Files the kernel refuses to show (set_ftrace_filter under
/// lockdown) are left out of the comparison.
/// </summary>
public sealed class TraceFsState
{
    /// <summary>The files compared.</summary>
    public static readonly string[] Files = ["current_tracer", "set_event", "set_ftrace_filter", "tracing_on", "buffer_size_kb", "trace_options"];

    private readonly Dictionary<string, byte[]> _content = new();

    private TraceFsState(string tracefs) => TraceFsPath = tracefs;

    /// <summary>The tracefs directory read.</summary>
    public string TraceFsPath { get; }

    /// <summary>The live tracefs by the module's own rule (<see cref="TraceFs.TryLocate"/>), or null when tracefs is not mounted.</summary>
    public static string? Locate() => TraceFs.TryLocate(KernelRoot.Live)?.Path;

    /// <summary>
    /// Reads the files now. Without <paramref name="tracefs"/>, tracefs is found (and on a fresh boot mounted) the way
    /// the module finds it, so the "before" is taken after the one change the module legitimately makes.
    /// </summary>
    public static TraceFsState Capture(string? tracefs = null)
    {
        var s = new TraceFsState(tracefs ?? TraceFs.Locate(KernelRoot.Live).Path);
        foreach (var f in Files)
        {
            try { s._content[f] = File.ReadAllBytes(Path.Combine(s.TraceFsPath, f)); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* unreadable here: skipped */ }
        }
        return s;
    }

    /// <summary>
    /// The names of files whose bytes differ from <paramref name="later"/>, with both contents. With
    /// <paramref name="allowBufferExpansion"/>, a top ring buffer that went from its boot-time unexpanded form
    /// ("7 (expanded: 1408)") to its full size ("1408") is not a difference: tools used as oracles (trace-cmd
    /// extract) expand it, and it can never shrink back.
    /// </summary>
    public IReadOnlyList<string> Differences(TraceFsState later, bool allowBufferExpansion = false) =>
        _content.Where(kv => !later._content.TryGetValue(kv.Key, out var b) || !(b.AsSpan().SequenceEqual(kv.Value)
                || (allowBufferExpansion && kv.Key == "buffer_size_kb" && IsExpansion(Text(kv.Value), Text(b)))))
            .Select(kv => $"{kv.Key}: before '{Text(kv.Value)}' after '{(later._content.TryGetValue(kv.Key, out var b) ? Text(b) : "<unreadable>")}'")
            .ToArray();

    private static string Text(byte[] b) => System.Text.Encoding.UTF8.GetString(b);

    /// <summary>
    /// Whether a buffer_size_kb of "N (expanded: M)" became M as the kernel allocates it: M KiB rounded up to whole
    /// ring-buffer sub-buffers of 4080 data bytes (a 4 KiB page less its 16-byte header), so 1408 reads back as 1410.
    /// </summary>
    public static bool IsExpansion(string before, string after)
    {
        var m = System.Text.RegularExpressions.Regex.Match(before, @"^\d+ \(expanded: (\d+)\)\s*$");
        if (!m.Success || !long.TryParse(after.Trim(), out long kb)) return false;
        long asked = long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        const long subBuffer = 4096 - 16;
        long allocated = (asked * 1024 + subBuffer - 1) / subBuffer * subBuffer >> 10;
        return kb == asked || kb == allocated;
    }

    /// <summary>The files that were readable.</summary>
    public IReadOnlyCollection<string> Compared => _content.Keys;

    /// <summary>The kerneldebug instances of one owner pid that exist now.</summary>
    public static IReadOnlyList<string> InstancesOf(int ownerPid, string? tracefs = null)
    {
        string dir = Path.Combine(tracefs ?? Locate() ?? "/sys/kernel/tracing", "instances");
        if (!Directory.Exists(dir)) return Array.Empty<string>();
        return Directory.EnumerateDirectories(dir, $"kerneldebug-{ownerPid}-*").Select(Path.GetFileName).OfType<string>().ToArray();
    }
}
