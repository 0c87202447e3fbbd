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

    /// <summary>The tracefs mount point, or null when tracefs is not mounted.</summary>
    public static string? Locate() =>
        new[] { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" }.FirstOrDefault(d => File.Exists(Path.Combine(d, "available_events")));

    /// <summary>Reads the files now (tracefs must be mounted).</summary>
    public static TraceFsState Capture(string? tracefs = null)
    {
        var s = new TraceFsState(tracefs ?? Locate() ?? throw new InvalidOperationException("tracefs is not mounted"));
        foreach (var f in Files)
        {
            try { s._content[f] = File.ReadAllBytes(Path.Combine(s.TraceFsPath, f)); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* unreadable here: skipped */ }
        }
        return s;
    }

    /// <summary>The names of files whose bytes differ from <paramref name="later"/>, with both contents.</summary>
    public IReadOnlyList<string> Differences(TraceFsState later) =>
        _content.Where(kv => !later._content.TryGetValue(kv.Key, out var b) || !b.AsSpan().SequenceEqual(kv.Value))
            .Select(kv => $"{kv.Key}: before '{System.Text.Encoding.UTF8.GetString(kv.Value)}' after '{(later._content.TryGetValue(kv.Key, out var b) ? System.Text.Encoding.UTF8.GetString(b) : "<unreadable>")}'")
            .ToArray();

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
