using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Native;

namespace KernelDebug.Core.Tracing;

/// <summary>
/// One private tracefs instance (<c>instances/kerneldebug-&lt;pid&gt;-&lt;n&gt;</c>) and everything configured in it.
/// It never writes the top instance. Created by <see cref="Create"/> (which removes the instance again if any step
/// of the set-up fails) or opened by name with <see cref="Open"/>. When <see cref="RemoveOnDispose"/> is set,
/// disposing removes the instance, so a cmdlet's success, error and Ctrl+C paths all clean up.
/// </summary>
public sealed class FtraceSession : IDisposable
{
    private static int _counter;
    private bool _removed;

    private FtraceSession(TraceFs fs, string name, TraceEventCatalog catalog)
    {
        TraceFs = fs;
        Name = name;
        Catalog = catalog;
    }

    /// <summary>The tracefs the instance lives in.</summary>
    public TraceFs TraceFs { get; }

    /// <summary>The instance name.</summary>
    public string Name { get; }

    /// <summary>The instance directory relative to tracefs (<c>instances/NAME</c>).</summary>
    public string RelativeDirectory => "instances/" + Name;

    /// <summary>The instance directory.</summary>
    public string Directory => TraceFs.Resolve(RelativeDirectory);

    /// <summary>Event formats and ring-buffer layout.</summary>
    public TraceEventCatalog Catalog { get; }

    /// <summary>The events this session enabled (<c>system:event</c>); for an opened instance, those its set_event lists.</summary>
    public IReadOnlyList<string> Events { get; private set; } = Array.Empty<string>();

    /// <summary>Remove the instance on <see cref="Dispose"/>.</summary>
    public bool RemoveOnDispose { get; set; }

    /// <summary>The instance's trace clock.</summary>
    public string? Clock { get; private set; }

    /// <summary>Maps the trace clock to wall-clock time, when it is one .NET can read (mono).</summary>
    public TraceClockMapping? ClockMapping { get; private set; }

    /// <summary>The absolute path of a file in the instance.</summary>
    public string PathOf(string file) => System.IO.Path.Combine(Directory, file);

    /// <summary>Whether a tracefs instance name is one this module made.</summary>
    public static bool IsOurs(string name) => name.StartsWith(FtraceOwnerMarker.InstancePrefix, StringComparison.Ordinal);

    /// <summary>
    /// Resolves the event patterns, creates the instance, writes the owner marker and configures clock, buffer size,
    /// CPU mask, pid restriction, filters and events, then turns tracing on. Every check that can fail without
    /// touching the kernel (unknown events, bad pids or CPUs) runs before the instance exists; if any kernel write
    /// fails, the instance is removed before the error is thrown.
    /// </summary>
    /// <exception cref="KernelDebugException">An event matched nothing, the kernel refused a setting (a filter's error
    /// carries the kernel's own message), or the instance could not be created.</exception>
    public static FtraceSession Create(TraceFs fs, FtraceCaptureOptions options, ParseContext ctx)
    {
        var catalog = new TraceEventCatalog(fs, ctx);
        bool functions = options.Functions.Count > 0 || options.ExcludeFunctions.Count > 0;
        // Decided before anything exists: under lockdown the tracer is refused, and we say so instead of half-creating.
        if (functions && FunctionTracing.ProbeFunctionTracer(fs) is KernelDebugException refused) throw refused;
        var events = options.Events.Count == 0 && functions ? Array.Empty<string>() : ResolveEvents(catalog, options.Events);
        foreach (var key in options.EventFilters?.Keys ?? [])
            if (!events.Contains(key))
                throw new KernelDebugException("FtraceFilterEventNotSelected", KernelErrorCategory.InvalidArgument,
                    $"A filter is given for '{key}', which is not one of the selected events ({string.Join(", ", events)}).",
                    "Name events as system:event in both -Event and the filter table.", key);
        foreach (var cpu in options.Cpus)
            if (cpu < 0 || cpu >= Environment.ProcessorCount * 64)
                throw new KernelDebugException("FtraceCpuInvalid", KernelErrorCategory.InvalidArgument, $"CPU {cpu} is not a CPU number.", null, cpu);
        if (options.BufferSize is long b && b < 4096)
            throw new KernelDebugException("FtraceBufferSizeInvalid", KernelErrorCategory.InvalidArgument, $"A buffer of {b} bytes is too small; give at least 4096 bytes per CPU.", null, b);

        string name = NewName(fs, options.Name);
        string dir = fs.Resolve("instances/" + name);
        if (LibC.MkDir(dir, 0x1ED /* 0755 */) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw errno switch
            {
                LibC.EEXIST => new KernelDebugException("FtraceCaptureExists", KernelErrorCategory.ResourceBusy,
                    $"A tracefs instance named '{name}' already exists.", "Choose another -Name, or remove it with Remove-FtraceCapture.", name),
                LibC.EPERM or LibC.EACCES => KernelErrors.PrivilegeRequired("FtraceInstanceDenied", "Creating a tracefs instance",
                    "Run as root (creating instances needs CAP_SYS_ADMIN).", dir),
                _ => new KernelDebugException("FtraceInstanceFailed", KernelErrorCategory.WriteError,
                    $"Creating the tracefs instance '{dir}' failed: {LibC.Describe(errno)}.", null, dir),
            };
        }
        var session = new FtraceSession(fs, name, catalog) { RemoveOnDispose = true };
        try
        {
            // The marker first, so that an owner killed during set-up still leaves a findable orphan.
            new FtraceOwnerMarker(Environment.ProcessId, FtraceOwnerMarker.ProcessStartTicks(Environment.ProcessId) ?? 0, DateTimeOffset.UtcNow,
                events.ToArray(), options.Filter, options.ProcessIds.ToArray(), options.Cpus.ToArray(), null, fs.MountedNow, options.Functions.ToArray()).Write(name);
            session.Write("tracing_on", "0");
            // mono is CLOCK_MONOTONIC: timestamps can be mapped to wall-clock time.
            string clocks = session.ReadInstance("trace_clock") ?? "";
            if (clocks.Contains("mono", StringComparison.Ordinal) && session.TryWrite("trace_clock", "mono") == 0) session.Clock = "mono";
            else session.Clock = ParseCurrentClock(clocks);
            session.ClockMapping = session.Clock is null ? null : TraceClockMapping.ForLive(session.Clock);
            if (options.BufferSize is long bytes)
                session.Write("buffer_size_kb", ((bytes + 1023) / 1024).ToString(CultureInfo.InvariantCulture));
            if (options.Cpus.Count > 0) session.Write("tracing_cpumask", CpuMask(options.Cpus));
            if (options.ProcessIds.Count > 0)
                session.Write("set_event_pid", string.Join(' ', options.ProcessIds.Select(p => p.ToString(CultureInfo.InvariantCulture))));
            foreach (var ev in events)
            {
                string? filter = options.EventFilters?.GetValueOrDefault(ev) ?? options.Filter;
                string evDir = "events/" + ev.Replace(':', '/');
                if (!string.IsNullOrWhiteSpace(filter)) session.SetFilter(ev, evDir, filter);
                session.Write(evDir + "/enable", "1");
            }
            session.Events = events;
            if (functions)
            {
                foreach (var f in options.Functions) session.Write("set_ftrace_filter", f, append: true);
                foreach (var f in options.ExcludeFunctions) session.Write("set_ftrace_notrace", f, append: true);
                if (options.ProcessIds.Count > 0)
                    session.Write("set_ftrace_pid", string.Join(' ', options.ProcessIds.Select(p => p.ToString(CultureInfo.InvariantCulture))));
                session.Write("current_tracer", "function");
                session.Events = [.. events, "ftrace:function"];
            }
            if (!options.Paused) session.Write("tracing_on", "1");
            return session;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Opens an existing instance by name (it is not removed on dispose unless asked).</summary>
    /// <exception cref="KernelDebugException">No such instance.</exception>
    public static FtraceSession Open(TraceFs fs, string name, ParseContext ctx)
    {
        if (!fs.Root.DirectoryExists(fs.Relative("instances/" + name)))
            throw new KernelDebugException("FtraceCaptureNotFound", KernelErrorCategory.ObjectNotFound,
                $"There is no tracefs instance named '{name}'.", "List captures with Get-FtraceCapture.", name);
        var s = new FtraceSession(fs, name, new TraceEventCatalog(fs, ctx));
        s.Events = ReadSetEvent(fs.Root.TryReadText(fs.Relative($"instances/{name}/set_event")));
        if (s.ReadInstance("current_tracer")?.Trim() == "function") s.Events = [.. s.Events, "ftrace:function"];
        s.Clock = ParseCurrentClock(s.ReadInstance("trace_clock") ?? "");
        s.ClockMapping = s.Clock is null ? null : TraceClockMapping.ForLive(s.Clock);
        return s;
    }

    /// <summary>Every instance this module made, with state and owner, orphans included.</summary>
    public static IReadOnlyList<FtraceCapture> List(TraceFs fs)
    {
        var result = new List<FtraceCapture>();
        foreach (var name in fs.Root.EnumerateEntries(fs.Relative("instances")).Where(IsOurs).Order(StringComparer.Ordinal))
            result.Add(Describe(fs, name));
        return result;
    }

    /// <summary>The capture record of an instance.</summary>
    public static FtraceCapture Describe(TraceFs fs, string name)
    {
        string rel = fs.Relative("instances/" + name);
        var marker = FtraceOwnerMarker.Read(name);
        int owner = marker?.OwnerProcessId ?? FtraceOwnerMarker.PidFromName(name) ?? 0;
        bool alive = marker is not null ? marker.OwnerAlive() : owner > 0 && FtraceOwnerMarker.ProcessStartTicks(owner) is not null;
        bool on = fs.Root.TryReadValue(rel + "/tracing_on") == "1";
        long lost = 0, buffered = 0;
        foreach (var cpu in fs.Root.EnumerateEntries(rel + "/per_cpu", "cpu*"))
        {
            if (!int.TryParse(cpu.AsSpan(3), out int c)) continue;
            string? stats = fs.Root.TryReadText($"{rel}/per_cpu/{cpu}/stats");
            if (stats is null) continue;
            var s = TraceBufferStats.Parse(c, stats, new ParseContext("stats"));
            lost += s.Lost;
            buffered += s.Entries;
        }
        long kb = long.TryParse(fs.Root.TryReadValue(rel + "/buffer_size_kb")?.Split(' ')[0], out long k) ? k : 0;
        return new FtraceCapture
        {
            Name = name,
            Instance = fs.Root.Resolve(rel),
            Events = ReadSetEvent(fs.Root.TryReadText(rel + "/set_event")),
            Functions = marker?.Functions ?? Array.Empty<string>(),
            Filter = marker?.Filter,
            ProcessIds = marker?.ProcessIds ?? Array.Empty<int>(),
            Cpus = marker?.Cpus ?? Array.Empty<int>(),
            StartTime = marker?.StartTime,
            State = !alive ? FtraceCaptureState.Orphaned : on ? FtraceCaptureState.Running : FtraceCaptureState.Stopped,
            OwnerProcessId = owner,
            LostEvents = lost,
            BufferedEvents = buffered,
            BufferSize = kb * 1024,
            Clock = ParseCurrentClock(fs.Root.TryReadValue(rel + "/trace_clock") ?? ""),
            MountedTraceFs = marker?.MountedTraceFs ?? false,
        };
    }

    /// <summary>This session's capture record.</summary>
    public FtraceCapture Describe() => Describe(TraceFs, Name);

    /// <summary>Turns recording on (tracing_on = 1).</summary>
    public void Start() => Write("tracing_on", "1");

    /// <summary>Stops recording (tracing_on = 0); the buffer stays for reading.</summary>
    public void Stop()
    {
        if (!_removed) TryWrite("tracing_on", "0");
    }

    /// <summary>Opens per-CPU binary readers on the instance's <c>trace_pipe_raw</c> files.</summary>
    public FtraceReader OpenReader(ParseContext ctx) => new(this, ctx);

    /// <summary>
    /// Removes the instance: stops it, disables its events and deletes the directory and the owner marker.
    /// Retries briefly while the kernel reports the instance busy (a reader still closing).
    /// </summary>
    /// <exception cref="KernelDebugException">The kernel refused to remove it.</exception>
    public void Remove()
    {
        if (_removed) return;
        RemoveInstance(TraceFs, Name);
        _removed = true;
    }

    /// <summary>Removes an instance this module made, by name.</summary>
    public static void RemoveInstance(TraceFs fs, string name)
    {
        if (!IsOurs(name))
            throw new KernelDebugException("FtraceNotOurs", KernelErrorCategory.InvalidArgument,
                $"'{name}' was not made by KernelDebug (its name does not start with '{FtraceOwnerMarker.InstancePrefix}'); it is left alone.", null, name);
        string dir = fs.Resolve("instances/" + name);
        if (!System.IO.Directory.Exists(dir)) { FtraceOwnerMarker.Delete(name); return; }
        LibC.WriteFile(System.IO.Path.Combine(dir, "tracing_on"), "0");
        int errno = 0;
        for (int attempt = 0; attempt < 80; attempt++)
        {
            if (LibC.RmDir(dir) == 0) { errno = 0; break; }
            errno = Marshal.GetLastPInvokeError(); // read before any other call can overwrite it
            if (errno == LibC.ENOENT) { errno = 0; break; }
            if (errno != LibC.EBUSY) break;
            Thread.Sleep(25);
        }
        if (errno != 0)
            throw new KernelDebugException("FtraceRemoveFailed", KernelErrorCategory.WriteError,
                $"Removing the tracefs instance '{dir}' failed: {LibC.Describe(errno)}.",
                errno == LibC.EBUSY ? "A process still has a file of the instance open (a trace_pipe reader); stop it and try again." : null, name);
        FtraceOwnerMarker.Delete(name);
    }

    /// <summary>True once the instance was removed.</summary>
    public bool IsRemoved => _removed;

    /// <summary>
    /// Removes the instance when <see cref="RemoveOnDispose"/> is set. Safe to call again: if the kernel reported the
    /// instance busy (a reader on another thread still closing), a later call retries.
    /// </summary>
    public void Dispose()
    {
        if (RemoveOnDispose && !_removed)
        {
            try { Remove(); }
            catch (KernelDebugException) { /* disposal must not throw; the orphan stays findable */ }
        }
    }

    /// <summary>Deletes owner markers whose instance no longer exists (an instance removed by hand or by another tool).</summary>
    public static int DeleteStaleMarkers(TraceFs fs)
    {
        int n = 0;
        string[] files;
        try { files = System.IO.Directory.Exists(FtraceOwnerMarker.Directory) ? System.IO.Directory.GetFiles(FtraceOwnerMarker.Directory, FtraceOwnerMarker.InstancePrefix + "*.json") : []; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return 0; }
        foreach (var f in files)
        {
            string name = System.IO.Path.GetFileNameWithoutExtension(f);
            if (fs.Root.DirectoryExists(fs.Relative("instances/" + name))) continue;
            FtraceOwnerMarker.Delete(name);
            n++;
        }
        return n;
    }

    internal string? ReadInstance(string file) => TraceFs.Root.TryReadText(TraceFs.Relative(RelativeDirectory + "/" + file));

    /// <summary>Writes a file of the instance; throws the kernel's refusal.</summary>
    internal void Write(string file, string value, bool append = false)
    {
        int errno = LibC.WriteFile(PathOf(file), value, append);
        if (errno == 0) return;
        throw new KernelDebugException("FtraceWriteFailed",
            errno is LibC.EPERM or LibC.EACCES ? KernelErrorCategory.PermissionDenied : KernelErrorCategory.WriteError,
            $"The kernel refused '{value}' for {file} of instance {Name}: {LibC.Describe(errno)}.",
            errno is LibC.EPERM or LibC.EACCES ? "Run as root; under kernel lockdown some tracing settings are refused even to root." : null, PathOf(file));
    }

    internal int TryWrite(string file, string value) => LibC.WriteFile(PathOf(file), value);

    private void SetFilter(string ev, string evDir, string filter)
    {
        int errno = TryWrite(evDir + "/filter", filter);
        if (errno == 0) return;
        // After a rejected write the filter file shows the expression, a caret and the kernel's reason.
        string kernelSays = (ReadInstance(evDir + "/filter") ?? "").Trim();
        if (kernelSays.Length == 0 || kernelSays == "none") kernelSays = LastErrorLogEntry() ?? LibC.Describe(errno);
        throw new KernelDebugException("FtraceFilterRejected", KernelErrorCategory.InvalidArgument,
            $"The kernel rejected the filter for {ev}:{Environment.NewLine}{kernelSays}",
            $"Check the field names with (Get-KernelTracepoint {ev}).Fields; the syntax is in the kernel's Documentation/trace/events.rst.", filter);
    }

    private string? LastErrorLogEntry()
    {
        var text = ReadInstance("error_log");
        if (string.IsNullOrWhiteSpace(text)) return null;
        var lines = text.TrimEnd().Split('\n');
        int start = Array.FindLastIndex(lines, l => l.StartsWith('['));
        return start < 0 ? null : string.Join('\n', lines[start..]);
    }

    private static IReadOnlyList<string> ResolveEvents(TraceEventCatalog catalog, IReadOnlyList<string> patterns)
    {
        if (patterns.Count == 0)
            throw new KernelDebugException("FtraceNoEvents", KernelErrorCategory.InvalidArgument, "No events were given.", "Name events with -Event system:event (wildcards allowed).");
        var result = new List<string>();
        foreach (var p in patterns)
        {
            var hits = catalog.Match(p);
            if (hits.Count == 0)
                throw new KernelDebugException("TracepointNotFound", KernelErrorCategory.ObjectNotFound,
                    $"No tracepoint matches '{p}'.", "List the kernel's tracepoints with Get-KernelTracepoint.", p);
            foreach (var h in hits) if (!result.Contains(h)) result.Add(h);
        }
        return result;
    }

    private static string NewName(TraceFs fs, string? requested)
    {
        if (!string.IsNullOrWhiteSpace(requested))
        {
            string n = IsOurs(requested) ? requested : FtraceOwnerMarker.InstancePrefix + requested;
            if (n.IndexOfAny(['/', '\0', ' ']) >= 0 || n.Length > 200)
                throw new KernelDebugException("FtraceNameInvalid", KernelErrorCategory.InvalidArgument, $"'{requested}' is not a usable instance name.", "Use letters, digits, '-' and '_'.", requested);
            return n;
        }
        while (true)
        {
            string n = $"{FtraceOwnerMarker.InstancePrefix}{Environment.ProcessId}-{Interlocked.Increment(ref _counter)}";
            if (!fs.Root.DirectoryExists(fs.Relative("instances/" + n))) return n;
        }
    }

    /// <summary>The hex mask tracing_cpumask takes, comma-grouped by 32 bits as the kernel prints it.</summary>
    internal static string CpuMask(IReadOnlyList<int> cpus)
    {
        int words = cpus.Max() / 32 + 1;
        var w = new uint[words];
        foreach (var c in cpus) w[c / 32] |= 1u << (c % 32);
        var sb = new StringBuilder();
        for (int i = words - 1; i >= 0; i--)
        {
            if (sb.Length > 0) sb.Append(',');
            sb.Append(i == words - 1 ? w[i].ToString("x", CultureInfo.InvariantCulture) : w[i].ToString("x8", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    private static string? ParseCurrentClock(string clocks)
    {
        int a = clocks.IndexOf('['), b = clocks.IndexOf(']');
        return a >= 0 && b > a ? clocks[(a + 1)..b] : null;
    }

    private static IReadOnlyList<string> ReadSetEvent(string? text) =>
        text is null ? Array.Empty<string>() : text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
