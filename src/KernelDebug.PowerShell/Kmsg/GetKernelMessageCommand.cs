using System.Management.Automation;
using System.Text.RegularExpressions;
using KernelDebug.Core.Kmsg;
using KernelDebug.Core.Parsing;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Kmsg;

/// <summary>
/// <para type="synopsis">Gets kernel log messages as objects: live from /dev/kmsg, or from saved logs in any common format.</para>
/// <para type="description">Get-KernelMessage returns one KernelMessage per kernel log record, with its Sequence number, Uptime (time since boot), Time, Level, Facility, the ThreadId or CpuId that logged it, its Text, the Subsystem and Device a driver attached, and where it came from (Source, LineNumber).</para>
/// <para type="description">Without -Path it reads the running kernel's log from /dev/kmsg up to its end, like dmesg; with -Follow it then keeps waiting for new messages until Ctrl+C, like dmesg -w. Messages the kernel overwrote in its ring buffer before they were read, and gaps in the sequence numbers, are reported as warnings and counted in the LostMessages property of the next message. Reading /dev/kmsg needs CAP_SYSLOG while the sysctl kernel.dmesg_restrict is 1; without it the command fails with the error KmsgAccessDenied and says so.</para>
/// <para type="description">With -Path it reads files, directories and wildcards, and FileInfo objects from the pipeline, detecting the format of each file from its first lines: raw /dev/kmsg dumps, dmesg text ([  12.345678] text), dmesg -r (&lt;6&gt;[...]), dmesg -T and --time-format iso, journalctl -k output in the short, short-precise, short-iso, short-monotonic and json forms, syslog files such as /var/log/kern.log (BSD, RFC 3339 and RFC 5424 timestamps), kdump's vmcore-dmesg.txt, pstore dmesg files (/sys/fs/pstore/dmesg-*; the parts of one dump are put back together in order), serial console logs with caller ids ([ T1234], [ C1]), and any of these gzip-compressed. A line that cannot be parsed is a warning naming file and line; the rest of the file is still read.</para>
/// <para type="description">With -Boot it reads the kernel's entries (_TRANSPORT=kernel) of one boot from the systemd journal through libsystemd, like journalctl -k -b: 0 is the last boot, -1 the one before, or a boot id from Get-KernelBoot; the journal of -Root by default, or the journal files (*.journal) and directories given with -Path (journal files are also read without -Boot, all boots). Journal messages carry their level, the kernel's timestamp (Uptime), journald's wall clock (Time), BootId and the host name (Sender). A damaged or truncated journal file is a warning naming it; every readable entry is still read.</para>
/// <para type="description">Why Time drifts: the kernel stamps each message with the monotonic clock, which stops while the machine is suspended. Time is computed as boot time plus that stamp, so after a suspend every later message appears earlier than it really happened, by the total time spent suspended (dmesg -T has the same flaw). Formats that record the wall clock themselves (journal and syslog files, dmesg -T/iso output) keep their own Time. Plain dmesg text carries no boot time, so its messages have no Time, and -Since/-Until drop them.</para>
/// <para type="description">Filters: -Level (names, dmesg's short names such as err and warn, or numbers), -MinimumLevel (this level or more severe), -Facility, -Since and -Until, -Pattern (a regular expression on the text), -Subsystem and -Device (wildcards, from the kernel's continuation keys), and -Last to keep only the newest messages.</para>
/// </summary>
/// <example>
///   <code>Get-KernelMessage -MinimumLevel Warning -Last 20</code>
///   <para>Shows the last twenty warnings, errors and worse from the running kernel.</para>
/// </example>
/// <example>
///   <code>Get-KernelMessage -Boot -1 -MinimumLevel Error | Select-Object -Last 30</code>
///   <para>The last errors the kernel logged in the previous boot, from the systemd journal: what it said before it went down.</para>
/// </example>
/// <example>
///   <code>Get-KernelMessage -Follow -Pattern 'usb|nvme'</code>
///   <para>Streams new USB and NVMe messages as they are logged, until Ctrl+C.</para>
/// </example>
/// <example>
///   <code>Get-ChildItem /var/log/kern.log* | Get-KernelMessage -Level err, crit -IncludeUnknownLevel | Group-Object Text | Sort-Object Count -Descending</code>
///   <para>Reads the current and rotated (also .gz) kern.log files and counts the distinct messages; kern.log records no level, so -IncludeUnknownLevel keeps its lines (without it a warning says they were left out).</para>
/// </example>
/// <example>
///   <code>Get-KernelMessage -Path /var/crash/*/vmcore-dmesg.txt, /sys/fs/pstore | Export-Csv crash-logs.csv</code>
///   <para>Collects the logs that kdump and pstore kept from crashed boots into one CSV file.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "KernelMessage", DefaultParameterSetName = LiveSet)]
[OutputType(typeof(KernelMessage))]
public sealed class GetKernelMessageCommand : LogSourceCmdlet
{
    private KernelMessageFilter _filter = null!;
    private Queue<KernelMessage>? _last;
    private const int BatchSize = 512;
    private readonly List<KernelMessage> _batch = new(BatchSize);

    /// <summary>
    /// <para type="description">Keeps reading the live log after its end and writes new messages as the kernel logs them, until Ctrl+C.</para>
    /// </summary>
    [Parameter(ParameterSetName = LiveSet)]
    public SwitchParameter Follow { get; set; }

    /// <summary>
    /// <para type="description">Only messages of these levels: Emergency, Alert, Critical, Error, Warning, Notice, Info, Debug, dmesg's short names (emerg, alert, crit, err, warn, notice, info, debug), or the numbers 0-7.</para>
    /// </summary>
    [Parameter]
    [KernelLogLevelTransformation]
    public KernelLogLevel[]? Level { get; set; }

    /// <summary>
    /// <para type="description">Only messages at least this severe: -MinimumLevel Warning gives warnings, errors, critical, alert and emergency messages. Messages whose format records no level are left out (with one warning) unless -IncludeUnknownLevel is given.</para>
    /// </summary>
    [Parameter]
    [KernelLogLevelTransformation]
    public KernelLogLevel? MinimumLevel { get; set; }

    /// <summary>
    /// <para type="description">With -Level or -MinimumLevel, also keeps messages whose log records no level (plain dmesg text, kern.log and other syslog files, console captures). Without it such messages are left out, and a warning says how many and from which logs, once.</para>
    /// </summary>
    [Parameter]
    public SwitchParameter IncludeUnknownLevel { get; set; }

    /// <summary>
    /// <para type="description">Only messages of these syslog facilities (Kern for the kernel's own; user space writing to /dev/kmsg gets User by default).</para>
    /// </summary>
    [Parameter]
    public KernelLogFacility[]? Facility { get; set; }

    /// <summary>
    /// <para type="description">Only messages logged at or after this time. Messages without a Time (plain dmesg text) are left out.</para>
    /// </summary>
    [Parameter]
    public DateTimeOffset? Since { get; set; }

    /// <summary>
    /// <para type="description">Only messages logged at or before this time. Messages without a Time are left out.</para>
    /// </summary>
    [Parameter]
    public DateTimeOffset? Until { get; set; }

    /// <summary>
    /// <para type="description">Only the newest N messages that pass the other filters. With -Follow, the newest N of the existing log are shown before following.</para>
    /// </summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? Last { get; set; }

    /// <summary>
    /// <para type="description">Only messages whose text matches this regular expression (case-insensitive).</para>
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Pattern { get; set; }

    /// <summary>
    /// <para type="description">Only messages whose SUBSYSTEM continuation key matches one of these names (wildcards), e.g. pci, usb, block, net.</para>
    /// </summary>
    [Parameter]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(SubsystemCompleter))]
    public string[]? Subsystem { get; set; }

    /// <summary>
    /// <para type="description">Only messages whose DEVICE continuation key matches one of these (wildcards), e.g. '+pci:0000:00:1f.2', 'b8:0', 'n2'.</para>
    /// </summary>
    [Parameter]
    [SupportsWildcards]
    public string[]? Device { get; set; }

    /// <inheritdoc />
    protected override void Begin()
    {
        _filter = new KernelMessageFilter(Level, MinimumLevel, Facility, Since, Until,
            Pattern is null ? null : new Regex(Pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant),
            Subsystem, Device, IncludeUnknownLevel);
        if (Follow && Boot is not null)
            ThrowKernelError(new Core.Errors.KernelDebugException("FollowWithBoot", Core.Errors.KernelErrorCategory.InvalidArgument,
                "-Follow watches the running kernel's log; -Boot reads a finished boot from the journal.", "Use one of them."));
        if (Last is int n) _last = new Queue<KernelMessage>(Math.Min(n, 1 << 16));
    }

    /// <inheritdoc />
    protected override void Process()
    {
        if (!ReadsPaths) return;
        // A log file becomes a million objects in a second: a throughput GC (no background collections) cuts the
        // time by a quarter. Only for the read, and put back even when the pipeline is stopped.
        var latency = System.Runtime.GCSettings.LatencyMode;
        try
        {
            if (latency == System.Runtime.GCLatencyMode.Interactive) System.Runtime.GCSettings.LatencyMode = System.Runtime.GCLatencyMode.Batch;
            foreach (var source in ResolveSources()) ReadSource(source, Emit, FlushBatch);
            FlushBatch();
        }
        finally
        {
            System.Runtime.GCSettings.LatencyMode = latency;
        }
    }

    /// <inheritdoc />
    protected override void End()
    {
        if (ReadsRootJournal) ReadSource(RootJournal(), Emit, FlushBatch);
        else if (ParameterSetName == LiveSet)
        {
            if (Follow) FollowLive();
            else
            {
                var ctx = new ParseContext("/dev/kmsg");
                foreach (var m in KernelLog.ReadDevice(KernelRoot, ctx, follow: false, StopToken))
                {
                    Emit(m);
                    if (ctx.Issues.Count > 0) { FlushBatch(); WriteIssues(ctx); }
                }
                FlushBatch();
                WriteIssues(ctx);
            }
        }
        FlushLast();
        if (_filter.UnknownLevelDropped is > 0 and var n)
            WriteWarning($"{n} message(s) were left out by -Level/-MinimumLevel because their log records no level ({string.Join(", ", _filter.UnknownLevelSources.Take(5))}): " +
                         "plain dmesg text, kern.log and console captures carry none. Add -IncludeUnknownLevel to keep them, or read the journal (-Boot), which records levels.");
    }

    private void FollowLive()
    {
        long after = -1;
        if (_last is not null)
        {
            // The newest N of what is there now, then everything after it.
            var ctx = new ParseContext("/dev/kmsg");
            foreach (var m in KernelLog.ReadDevice(KernelRoot, ctx, follow: false, StopToken))
            {
                Emit(m);
                after = m.Sequence ?? after;
            }
            WriteIssues(ctx);
            FlushLast();
            _last = null;
        }
        var root = KernelRoot;
        Pump(async (writer, ct) =>
        {
            var ctx = new ParseContext("/dev/kmsg");
            foreach (var m in KernelLog.ReadDevice(root, ctx, follow: true, ct))
            {
                foreach (var issue in ctx.Drain()) await writer.WriteAsync(issue, ct).ConfigureAwait(false);
                if (m.Sequence is long s && s <= after) continue;
                if (_filter.Matches(m)) await writer.WriteAsync(m, ct).ConfigureAwait(false);
            }
            foreach (var issue in ctx.Drain()) await writer.WriteAsync(issue, ct).ConfigureAwait(false);
        });
    }

    private void Emit(KernelMessage m)
    {
        if (!_filter.Matches(m)) return;
        if (_last is null)
        {
            // Batches cost PowerShell less per object than one WriteObject call each (a million lines is a normal log).
            _batch.Add(m);
            if (_batch.Count == BatchSize) FlushBatch();
            return;
        }
        if (_last.Count == Last) _last.Dequeue();
        _last.Enqueue(m);
    }

    private void FlushBatch()
    {
        if (_batch.Count == 0) return;
        WriteObject(_batch, enumerateCollection: true);
        _batch.Clear();
    }

    private void FlushLast()
    {
        FlushBatch();
        if (_last is null) return;
        while (_last.Count > 0) WriteObject(_last.Dequeue());
    }
}

/// <summary>The filters of Get-KernelMessage, in one predicate.</summary>
internal sealed class KernelMessageFilter
{
    private readonly HashSet<KernelLogLevel>? _levels;
    private readonly KernelLogLevel? _minimum;
    private readonly HashSet<KernelLogFacility>? _facilities;
    private readonly DateTimeOffset? _since, _until;
    private readonly Regex? _pattern;
    private readonly WildcardPattern[]? _subsystems, _devices;
    private readonly bool _any, _includeUnknown;
    private int _unknownDropped;
    private readonly HashSet<string> _unknownSources = new(StringComparer.Ordinal);

    /// <summary>Messages left out by a level filter because they had no level.</summary>
    public int UnknownLevelDropped => _unknownDropped;

    /// <summary>The logs those messages came from.</summary>
    public IReadOnlyCollection<string> UnknownLevelSources { get { lock (_unknownSources) return _unknownSources.ToArray(); } }

    public KernelMessageFilter(KernelLogLevel[]? levels, KernelLogLevel? minimum, KernelLogFacility[]? facilities,
        DateTimeOffset? since, DateTimeOffset? until, Regex? pattern, string[]? subsystems, string[]? devices, bool includeUnknownLevel = false)
    {
        _includeUnknown = includeUnknownLevel;
        _levels = levels is { Length: > 0 } ? [.. levels] : null;
        _minimum = minimum;
        _facilities = facilities is { Length: > 0 } ? [.. facilities] : null;
        _since = since;
        _until = until;
        _pattern = pattern;
        _subsystems = subsystems is { Length: > 0 } ? subsystems.Select(s => new WildcardPattern(s, WildcardOptions.IgnoreCase)).ToArray() : null;
        _devices = devices is { Length: > 0 } ? devices.Select(s => new WildcardPattern(s, WildcardOptions.IgnoreCase)).ToArray() : null;
        _any = _levels is not null || _minimum is not null || _facilities is not null || _since is not null || _until is not null ||
               _pattern is not null || _subsystems is not null || _devices is not null;
    }

    public bool Matches(KernelMessage m)
    {
        if (!_any) return true;
        if ((_levels is not null || _minimum is not null) && m.Level is null)
        {
            if (!_includeUnknown)
            {
                Interlocked.Increment(ref _unknownDropped);
                if (m.Source is { } src) lock (_unknownSources) _unknownSources.Add(src);
                return false;
            }
        }
        else
        {
            if (_levels is not null && !_levels.Contains(m.Level!.Value)) return false;
            // Lower numbers are more severe.
            if (_minimum is { } min && m.Level > min) return false;
        }
        if (_facilities is not null && (m.Facility is not { } f || !_facilities.Contains(f))) return false;
        if (_since is { } s && (m.Time is not { } t1 || t1 < s)) return false;
        if (_until is { } u && (m.Time is not { } t2 || t2 > u)) return false;
        if (_subsystems is not null && (m.Subsystem is not { } sub || !_subsystems.Any(p => p.IsMatch(sub)))) return false;
        if (_devices is not null && (m.Device is not { } dev || !_devices.Any(p => p.IsMatch(dev)))) return false;
        if (_pattern is not null && !_pattern.IsMatch(m.Text)) return false;
        return true;
    }
}
