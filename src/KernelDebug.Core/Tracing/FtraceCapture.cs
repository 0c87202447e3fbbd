using System.Text.Json;
using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Tracing;

/// <summary>Whether a capture's instance is tracing, and whether its owner still lives.</summary>
public enum FtraceCaptureState
{
    /// <summary>tracing_on is 1: events are being recorded.</summary>
    Running,
    /// <summary>tracing_on is 0: the buffer is kept for reading.</summary>
    Stopped,
    /// <summary>The process that made the instance is gone; nothing will read or remove it unless asked (<c>Remove-FtraceCapture -Orphaned</c>).</summary>
    Orphaned,
}

/// <summary>What a capture records: built by Start-FtraceCapture and Trace-KernelEvent.</summary>
public sealed class FtraceCaptureOptions
{
    /// <summary>Event patterns (<c>system:event</c>, wildcards allowed).</summary>
    public IReadOnlyList<string> Events { get; init => field = Flat.List(value, ","); } = FlatList<string>.Empty;
    /// <summary>Functions for the function tracer (<c>set_ftrace_filter</c> globs); empty for an event-only capture.</summary>
    public IReadOnlyList<string> Functions { get; init => field = Flat.List(value, ","); } = FlatList<string>.Empty;
    /// <summary>Functions the function tracer leaves out (<c>set_ftrace_notrace</c>).</summary>
    public IReadOnlyList<string> ExcludeFunctions { get; init; } = Array.Empty<string>();
    /// <summary>A filter expression applied to every selected event (the kernel's events.rst syntax).</summary>
    public string? Filter { get; init; }
    /// <summary>Per-event filters (<c>system:event</c> → expression), applied after <see cref="Filter"/>.</summary>
    public IReadOnlyDictionary<string, string>? EventFilters { get; init; }
    /// <summary>Only these pids (set_event_pid); empty for all.</summary>
    public IReadOnlyList<int> ProcessIds { get; init => field = Flat.List(value, ","); } = FlatList<int>.Empty;
    /// <summary>Only these CPUs (tracing_cpumask); empty for all.</summary>
    public IReadOnlyList<int> Cpus { get; init => field = Flat.List(value, ","); } = FlatList<int>.Empty;
    /// <summary>Per-CPU ring-buffer size in bytes; null keeps the kernel's default.</summary>
    public long? BufferSize { get; init; }
    /// <summary>Instance name; <c>kerneldebug-</c> is put in front when missing. Null: <c>kerneldebug-&lt;pid&gt;-&lt;n&gt;</c>.</summary>
    public string? Name { get; init; }
    /// <summary>Leave tracing_on at 0 after setting up.</summary>
    public bool Paused { get; init; }
}

/// <summary>A tracefs instance this module made: its name, what it records, its state and its owner.</summary>
public sealed class FtraceCapture
{
    /// <summary>The instance name (<c>kerneldebug-1234-1</c>).</summary>
    public string Name { get; init; } = "";
    /// <summary>The instance directory.</summary>
    public string Instance { get; init; } = "";
    /// <summary>Enabled events (<c>system:event</c>).</summary>
    public IReadOnlyList<string> Events { get; init => field = Flat.List(value, ","); } = FlatList<string>.Empty;
    /// <summary>Traced functions (function tracer); empty for event captures.</summary>
    public IReadOnlyList<string> Functions { get; init => field = Flat.List(value, ","); } = FlatList<string>.Empty;
    /// <summary>The filter expression applied to the events, if any.</summary>
    public string? Filter { get; init; }
    /// <summary>Pids the capture is restricted to; empty for all.</summary>
    public IReadOnlyList<int> ProcessIds { get; init => field = Flat.List(value, ","); } = FlatList<int>.Empty;
    /// <summary>CPUs the capture is restricted to; empty for all.</summary>
    public IReadOnlyList<int> Cpus { get; init => field = Flat.List(value, ","); } = FlatList<int>.Empty;
    /// <summary>When the capture was started.</summary>
    public DateTimeOffset? StartTime { get; init; }
    /// <summary>Running, Stopped, or Orphaned.</summary>
    public FtraceCaptureState State { get; init; }
    /// <summary>The process that owns the instance (from its marker, or from its name).</summary>
    public int OwnerProcessId { get; init; }
    /// <summary>Events the kernel lost (overruns and drops over all CPU buffers, from per_cpu/cpuN/stats).</summary>
    public long LostEvents { get; init; }
    /// <summary>Events waiting in the buffers.</summary>
    public long BufferedEvents { get; init; }
    /// <summary>Per-CPU buffer size in bytes.</summary>
    public long BufferSize { get; init; }
    /// <summary>The trace clock.</summary>
    public string? Clock { get; init; }
    /// <summary>True when tracefs was mounted by this capture because it was absent.</summary>
    public bool MountedTraceFs { get; init; }

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>
/// The owner marker of an instance: tracefs instances cannot hold our own files, so the marker lives under
/// <c>/run/kerneldebug/ftrace/&lt;name&gt;.json</c> (tmpfs, gone at reboot like the instances). It names the owner's
/// pid and start time (so a reused pid is not mistaken for the owner) and what the capture records.
/// </summary>
public sealed record FtraceOwnerMarker(int OwnerProcessId, ulong OwnerStartTicks, DateTimeOffset StartTime,
    string[] Events, string? Filter, int[] ProcessIds, int[] Cpus, string? Clock, bool MountedTraceFs, string[]? Functions = null)
{
    /// <summary>The folder holding markers; tests may point it elsewhere.</summary>
    public static string Directory { get; set; } = "/run/kerneldebug/ftrace";

    /// <summary>The prefix every instance this module makes carries.</summary>
    public const string InstancePrefix = "kerneldebug-";

    internal static string PathOf(string name) => System.IO.Path.Combine(Directory, name + ".json");

    internal void Write(string name)
    {
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            File.WriteAllText(PathOf(name), JsonSerializer.Serialize(this));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* the name still carries the pid */ }
    }

    internal static FtraceOwnerMarker? Read(string name)
    {
        try { return JsonSerializer.Deserialize<FtraceOwnerMarker>(File.ReadAllText(PathOf(name))); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException) { return null; }
    }

    internal static void Delete(string name)
    {
        try { File.Delete(PathOf(name)); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>The start time (clock ticks after boot, field 22 of /proc/PID/stat) of a live process, or null when it is gone.</summary>
    public static ulong? ProcessStartTicks(int pid)
    {
        string? stat;
        try { stat = File.ReadAllText($"/proc/{pid}/stat"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        int close = stat.LastIndexOf(')');
        if (close < 0) return null;
        var f = Fields.Split(stat.AsSpan(close + 1));
        for (int i = 0; i < 19; i++) f.Next();
        return Fields.TryULong(f.Next(), out ulong v) ? v : null;
    }

    /// <summary>The owner pid in an instance name <c>kerneldebug-&lt;pid&gt;-&lt;n&gt;</c>, or null.</summary>
    public static int? PidFromName(string name)
    {
        if (!name.StartsWith(InstancePrefix)) return null;
        var rest = name.AsSpan(InstancePrefix.Length);
        int dash = rest.IndexOf('-');
        return int.TryParse(dash < 0 ? rest : rest[..dash], out int pid) ? pid : null;
    }

    /// <summary>Whether the owner recorded here is still the process running under that pid.</summary>
    public bool OwnerAlive() => ProcessStartTicks(OwnerProcessId) is ulong t && (OwnerStartTicks == 0 || t == OwnerStartTicks);
}
