using System.Diagnostics;
using System.Management.Automation;
using KernelDebug.Core;
using KernelDebug.Core.Bpf;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Symbols;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Bpf;

/// <summary>
/// <para type="synopsis">Measures how long system calls take, per call and optionally per process, in the kernel with eBPF: counts, errors by errno, total, min, mean, P50, P90, P99, max and a latency histogram.</para>
/// <para type="description">Measure-SyscallLatency loads a small precompiled CO-RE BPF program (kd_sl_*) that pairs each thread's syscall entry with its exit in the kernel and adds the latency to a per-syscall log-linear histogram; user space only reads the maps. It attaches to the raw_syscalls tracepoints with raw_tp where the kernel has it (it starts fastest: no kernel BTF to parse), else tp_btf, else the classic tracepoint, and says which in AttachMethod. It measures for -Duration, or until Ctrl+C in an interactive console (the result is still written), and with -Interval writes a result per interval without losing calls between intervals. -ProcessId and -Syscall filter in the kernel; -Name matches command names (wildcards); -ByProcess groups per process; -FailedOnly and -Errno count only failed calls. Each record also reports what the measurement cost: OverheadPerEvent (BPF program nanoseconds per traced call, from kernel BPF statistics) and ProgramRunTime, and DroppedExits (exits whose entry happened before the attach). Every program, map and link is removed on completion, on error and on Ctrl+C. Needs root, or CAP_BPF and CAP_PERFMON, and a kernel with BTF (CONFIG_DEBUG_INFO_BTF).</para>
/// </summary>
/// <example>
///   <code>Measure-SyscallLatency -Duration 00:00:05 -Top 10</code>
///   <para>The ten system calls with the most total time across the machine during five seconds, with percentiles.</para>
/// </example>
/// <example>
///   <code>Measure-SyscallLatency -Duration 0:0:10 -Name postgres* -ByProcess | Where-Object P99 -gt ([timespan]::FromMilliseconds(1))</code>
///   <para>Per postgres process, the system calls whose 99th percentile exceeds one millisecond.</para>
/// </example>
/// <example>
///   <code>Measure-SyscallLatency -Duration 0:0:5 -Syscall openat -FailedOnly | Select-Object Syscall, Errors, ErrorsByErrno</code>
///   <para>Which errors openat returned, counted by errno name (ENOENT, EACCES, ...).</para>
/// </example>
/// <example>
///   <code>Measure-SyscallLatency -ProcessId $pid -Syscall read, write -Interval 0:0:1 -Duration 0:0:10 | Format-Histogram</code>
///   <para>A read/write latency histogram of this PowerShell process every second, printed like libbpf-tools.</para>
/// </example>
[Cmdlet(VerbsDiagnostic.Measure, "SyscallLatency")]
[OutputType(typeof(SyscallLatency))]
public sealed class MeasureSyscallLatencyCommand : KernelCmdlet
{
    private readonly List<int> _pids = new();
    private readonly Stopwatch _sinceInvocation = Stopwatch.StartNew();

    /// <summary>
    /// <para type="description">How long to measure. Without it, measuring runs until Ctrl+C (in an interactive console the result is still written).</para>
    /// </summary>
    [Parameter]
    public TimeSpan? Duration { get; set; }

    /// <summary>
    /// <para type="description">Writes a result for every interval of this length, like syscount -i; calls are never lost between intervals.</para>
    /// </summary>
    [Parameter]
    public TimeSpan? Interval { get; set; }

    /// <summary>
    /// <para type="description">Only these processes (process ids, filtered in the kernel; at most 16). Binds Id from pipeline input, so Get-Process output can be piped in.</para>
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "Pid")]
    public int[]? ProcessId { get; set; }

    /// <summary>
    /// <para type="description">Only processes whose command name (comm, at most 15 characters) matches one of these wildcard patterns.</para>
    /// </summary>
    [Parameter]
    [SupportsWildcards]
    public string[]? Name { get; set; }

    /// <summary>
    /// <para type="description">Only these system calls: names or wildcard patterns from this architecture's table (tab completion lists them).</para>
    /// </summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(SyscallNameCompleter))]
    public string[]? Syscall { get; set; }

    /// <summary>
    /// <para type="description">Groups by process (ProcessId and Command) as well as by system call.</para>
    /// </summary>
    [Parameter]
    public SwitchParameter ByProcess { get; set; }

    /// <summary>
    /// <para type="description">Counts only calls that returned an error.</para>
    /// </summary>
    [Parameter]
    public SwitchParameter FailedOnly { get; set; }

    /// <summary>
    /// <para type="description">Counts only calls that failed with this errno (a name such as ENOENT, or a number).</para>
    /// </summary>
    [Parameter]
    [ArgumentCompleter(typeof(ErrnoNameCompleter))]
    public string? Errno { get; set; }

    /// <summary>
    /// <para type="description">Writes only the N records with the largest total time per interval.</para>
    /// </summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int Top { get; set; }

    /// <summary>
    /// <para type="description">Leaves kernel BPF statistics off: saves two clock reads per program run (for every BPF program on the machine while they are on), but OverheadPerEvent and ProgramRunTime are then empty.</para>
    /// </summary>
    [Parameter]
    public SwitchParameter NoProgramStatistics { get; set; }

    /// <inheritdoc />
    protected override void Process()
    {
        if (ProcessId is not null) _pids.AddRange(ProcessId);
    }

    /// <inheritdoc />
    protected override void End()
    {
        var options = BuildOptions();
        bool consoleStop = Duration is null && CanReadCtrlC();
        bool savedTreat = false;
        if (consoleStop)
        {
            savedTreat = Console.TreatControlCAsInput;
            Console.TreatControlCAsInput = true;
        }
        try
        {
            Pump((writer, token) => Task.Run(() => Measure(options, writer, consoleStop, token), token));
        }
        finally
        {
            if (consoleStop) Console.TreatControlCAsInput = savedTreat;
        }
    }

    private SyscallLatencyOptions BuildOptions()
    {
        if (Duration is { } d && d <= TimeSpan.Zero)
            throw new KernelDebugException("InvalidDuration", KernelErrorCategory.InvalidArgument, "-Duration must be positive.", null, d);
        if (Interval is { } i && i < TimeSpan.FromMilliseconds(10))
            throw new KernelDebugException("InvalidInterval", KernelErrorCategory.InvalidArgument, "-Interval must be at least 10 ms.", null, i);
        IReadOnlyCollection<int>? ids = null;
        if (Syscall is { Length: > 0 })
        {
            var set = new HashSet<int>();
            foreach (var s in Syscall)
            {
                var pattern = new WildcardPattern(s, WildcardOptions.IgnoreCase);
                var matches = SyscallTable.X86_64.All.Where(e => pattern.IsMatch(e.Name)).ToList();
                if (matches.Count == 0)
                    throw new KernelDebugException("UnknownSyscall", KernelErrorCategory.InvalidArgument,
                        $"'{s}' matches no system call of {SyscallTable.X86_64.Architecture}.", "Use tab completion on -Syscall to list the names.", s);
                foreach (var m in matches) set.Add(m.Id);
            }
            ids = set;
        }
        int? errno = null;
        if (Errno is not null)
        {
            errno = ErrnoNames.Parse(Errno) ?? throw new KernelDebugException("UnknownErrno", KernelErrorCategory.InvalidArgument,
                $"'{Errno}' is not an errno name or number.", "Use a name such as ENOENT or EACCES (tab completion lists them).", Errno);
        }
        Func<string, bool>? commFilter = null;
        if (Name is { Length: > 0 })
        {
            var patterns = Name.Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToArray();
            commFilter = comm => patterns.Any(p => p.IsMatch(comm));
        }
        return new SyscallLatencyOptions
        {
            ProcessIds = _pids.Distinct().ToArray(),
            SyscallIds = ids,
            CommandFilter = commFilter,
            ByProcess = ByProcess,
            FailedOnly = FailedOnly,
            Errno = errno,
            ProgramStatistics = !NoProgramStatistics,
        };
    }

    private bool CanReadCtrlC()
    {
        try { return Host.Name == "ConsoleHost" && !Console.IsInputRedirected; }
        catch (Exception e) when (e is IOException or InvalidOperationException) { return false; }
    }

    private void Measure(SyscallLatencyOptions options, System.Threading.Channels.ChannelWriter<object> writer, bool consoleStop, CancellationToken token)
    {
        void Verbose(string text) => writer.TryWrite(new VerboseMessage(text));
        void Emit(IEnumerable<SyscallLatency> records)
        {
            foreach (var r in Top > 0 ? records.Take(Top) : records)
                writer.WriteAsync(r, token).AsTask().GetAwaiter().GetResult();
        }

        using var meter = SyscallLatencyMeter.Start(KernelRoot.Live, options, Verbose);
        Verbose($"Attached with {meter.AttachMethod} {_sinceInvocation.Elapsed.TotalMilliseconds:F1} ms after invocation " +
                $"(open {meter.Session.OpenMilliseconds:F1} ms, load {meter.Session.LoadMilliseconds:F1} ms, attach {meter.Session.AttachMilliseconds:F1} ms); " +
                $"programs {string.Join(", ", meter.Session.ProgramIds)}.");
        var clock = Stopwatch.StartNew();
        var nextInterval = Interval;
        var progress = new ProgressRecord(0x5157, "Measuring system call latency", "Attached") { RecordType = ProgressRecordType.Processing };
        TimeSpan? lastProgress = null;
        while (!token.IsCancellationRequested)
        {
            var now = clock.Elapsed;
            if (Duration is { } d && now >= d) break;
            if (consoleStop && CtrlCPressed()) { Verbose("Ctrl+C: stopping and writing what was measured."); break; }
            if (nextInterval is { } n && now >= n)
            {
                Emit(meter.CollectInterval());
                nextInterval = n + Interval!.Value;
            }
            if (lastProgress is null || now - lastProgress.Value >= TimeSpan.FromMilliseconds(250))
            {
                lastProgress = now;
                progress.StatusDescription = Duration is { } total
                    ? $"{now:hh\\:mm\\:ss} of {total:hh\\:mm\\:ss} ({meter.AttachMethod})"
                    : $"{now:hh\\:mm\\:ss} ({meter.AttachMethod}); press Ctrl+C to stop";
                progress.PercentComplete = Duration is { } t2 ? (int)Math.Min(100, now.TotalMilliseconds * 100 / t2.TotalMilliseconds) : -1;
                writer.TryWrite(progress);
            }
            var wait = TimeSpan.FromMilliseconds(50);
            if (Duration is { } d2 && d2 - now < wait) wait = d2 - now;
            if (nextInterval is { } n2 && n2 - now < wait) wait = n2 - now;
            if (wait > TimeSpan.Zero) token.WaitHandle.WaitOne(wait);
        }
        var final = meter.Finish();
        writer.TryWrite(new ProgressRecord(0x5157, "Measuring system call latency", "Done") { RecordType = ProgressRecordType.Completed });
        if (!token.IsCancellationRequested) Emit(final);
    }

    private static bool CtrlCPressed()
    {
        try
        {
            while (Console.KeyAvailable)
            {
                var k = Console.ReadKey(intercept: true);
                if (k.Key == ConsoleKey.C && (k.Modifiers & ConsoleModifiers.Control) != 0) return true;
            }
        }
        catch (InvalidOperationException) { }
        return false;
    }
}
