using System.Diagnostics;
using System.Management.Automation;
using KernelDebug.Core;
using KernelDebug.Core.Bpf;
using KernelDebug.Core.Bpf.Tools;
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
public sealed class MeasureSyscallLatencyCommand : BpfMeasureCmdlet
{
    private readonly List<int> _pids = new();



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



    /// <inheritdoc />
    protected override void Process()
    {
        if (ProcessId is not null) _pids.AddRange(ProcessId);
    }

    /// <inheritdoc />
    protected override string Activity => "Measuring system call latency";

    private SyscallLatencyOptions? _options;

    /// <inheritdoc />
    protected override void Validate() => _options = BuildOptions();

    /// <inheritdoc />
    protected override IBpfMeter<object> StartMeter(Action<string> verbose) =>
        SyscallLatencyMeter.Start(KernelRoot.Live, _options!, verbose);

    private SyscallLatencyOptions BuildOptions()
    {
        var ids = Syscall is { Length: > 0 }
            ? SyscallTable.X86_64.Resolve(Syscall.Select(p => (p, (Func<string, bool>)new WildcardPattern(p, WildcardOptions.IgnoreCase).IsMatch)))
            : null;
        int? errno = Errno is null ? null : ErrnoNames.ParseOrThrow(Errno);
        Func<string, bool>? commFilter = null;
        if (Name is { Length: > 0 })
        {
            var patterns = Name.Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToArray();
            commFilter = comm => patterns.Any(p => p.IsMatch(comm));
        }
        return new SyscallLatencyOptions
        {
            ProcessIds = _pids.Distinct().ToArray(),
            Cgroup = Cgroup,
            SyscallIds = ids,
            CommandFilter = commFilter,
            ByProcess = ByProcess,
            FailedOnly = FailedOnly,
            Errno = errno,
            ProgramStatistics = !NoProgramStatistics,
        };
    }
}
