using System.Management.Automation;
using KernelDebug.Core;
using KernelDebug.Core.Bpf.Tools;
using KernelDebug.Core.Errors;

using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Bpf;

/// <summary>
/// <para type="synopsis">Measures kernel lock contention with eBPF: which spinlocks, rwlocks, mutexes and rwsems threads wait for, how often and how long, per lock or per calling kernel stack.</para>
/// <para type="description">Measure-LockContention loads a small precompiled CO-RE BPF program (kd_lk_*) on the lock:contention_begin and lock:contention_end tracepoints (kernel 5.19+, no lockdep needed), pairs each thread's begin with its end in the kernel and adds the wait to a log-linear histogram. That covers spinlocks, rwlocks, mutexes, rwsems, rt-mutexes and per-CPU rwsems, wider than libbpf-tools' klockstat (mutexes and rwsems only). By default there is one record per lock address, with the kernel symbol of static locks (LockSymbol, from kallsyms); -ByCaller groups by the calling kernel stack instead (bpf_get_stackid), with the frames symbolized in Stack and the first frame outside the locking code in Caller. LockType is decoded from the tracepoint's LCB_F_* flags. -ProcessId counts only waits of those processes (in the kernel), -MinimumWait only waits at least that long (the origin document reported waits over 1 ms: -MinimumWait 0:0:0.001), -Top keeps the locks with the most total wait. It attaches with raw_tp where the kernel has it, else tp_btf, else the classic tracepoint, and measures for -Duration, or until Ctrl+C in an interactive console, with -Interval writing a result per interval. Every program, map and link is removed on completion, on error and on Ctrl+C. Needs root, or CAP_BPF and CAP_PERFMON, and a kernel with BTF (CONFIG_DEBUG_INFO_BTF).</para>
/// </summary>
/// <example>
///   <code>Measure-LockContention -Duration 0:0:10 -Top 10</code>
///   <para>The ten kernel locks threads waited for longest in total during ten seconds, with lock type, count, total and maximum wait.</para>
/// </example>
/// <example>
///   <code>Measure-LockContention -Duration 0:0:5 -ByCaller -MinimumWait 0:0:0.001 | Select-Object LockType, Caller, Count, MaxWait</code>
///   <para>Like the origin script: waits over one millisecond, grouped by the kernel code path that waited.</para>
/// </example>
/// <example>
///   <code>Get-Process postgres | Measure-LockContention -ByCaller -Duration 0:0:30 | Select-Object -First 1 -ExpandProperty Stack</code>
///   <para>The full symbolized kernel stack of the most contended code path of the postgres processes.</para>
/// </example>
[Cmdlet(VerbsDiagnostic.Measure, "LockContention")]
[OutputType(typeof(LockContention))]
public sealed class MeasureLockContentionCommand : BpfMeasureCmdlet
{
    private readonly List<int> _pids = new();

    /// <summary>
    /// <para type="description">Only waits of these processes (process ids, filtered in the kernel; at most 16). Binds Id from pipeline input, so Get-Process output can be piped in.</para>
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "Pid")]
    public int[]? ProcessId { get; set; }

    /// <summary>
    /// <para type="description">Groups by the calling kernel stack (Caller, Stack) instead of by lock address.</para>
    /// </summary>
    [Parameter]
    public SwitchParameter ByCaller { get; set; }

    /// <summary>
    /// <para type="description">Groups by process (ProcessId) as well.</para>
    /// </summary>
    [Parameter]
    public SwitchParameter ByProcess { get; set; }

    /// <summary>
    /// <para type="description">Counts only waits at least this long (filtered in the kernel). Default: every contended wait.</para>
    /// </summary>
    [Parameter]
    [DurationTransformation(AllowZero = true)]
    public TimeSpan MinimumWait { get; set; }

    /// <inheritdoc />
    protected override string Activity => "Measuring lock contention";

    /// <inheritdoc />
    protected override void Process()
    {
        if (ProcessId is not null) _pids.AddRange(ProcessId);
    }

    /// <inheritdoc />
    protected override void Validate()
    {
        if (MinimumWait < TimeSpan.Zero)
            throw new KernelDebugException("InvalidMinimumWait", KernelErrorCategory.InvalidArgument, "-MinimumWait must not be negative.", null, MinimumWait);
    }

    /// <inheritdoc />
    protected override IBpfMeter<object> StartMeter(Action<string> verbose) =>
        LockContentionMeter.Start(KernelRoot.Live, new LockContentionOptions
        {
            ProcessIds = _pids.Distinct().ToArray(),
            Cgroup = Cgroup,
            ByCaller = ByCaller,
            ByProcess = ByProcess,
            MinimumWait = MinimumWait,
            ProgramStatistics = !NoProgramStatistics,
        }, verbose);
}
