using System.Management.Automation;
using KernelDebug.Core;
using KernelDebug.Core.Bpf.Tools;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Symbols;

namespace KernelDebug.PowerShell.Bpf;

/// <summary>
/// <para type="synopsis">Streams every exec on the machine as it happens, with eBPF: process, parent, user, file and full command line; finds the short-lived process storms that ps never shows.</para>
/// <para type="description">Trace-ProcessExec loads a small precompiled CO-RE BPF program (kd_ex_*) on the sched:sched_process_exec tracepoint, the way libbpf-tools' execsnoop does but without kprobes (so it works where execsnoop's kprobe fallback does not). The program copies the new process's argument area (argv, up to 4096 bytes) from its memory at exec time, so the command line is right even for processes gone a millisecond later; ArgumentSource says where it came from. One ProcessExec record is written per exec as it arrives through a BPF ring buffer, so a pipeline sees execs live; execs the kernel could not write because the ring buffer was full are counted and reported as a warning. -ProcessId, -ThreadId and -Cgroup filter in the kernel (on the task that called exec), -Name on the new command name. It traces for -Duration, or until Ctrl+C in an interactive console. Every program, map and link is removed on completion, on error and on Ctrl+C. Needs root, or CAP_BPF and CAP_PERFMON, and a kernel with BTF (CONFIG_DEBUG_INFO_BTF).</para>
/// </summary>
/// <example>
///   <code>Trace-ProcessExec -Duration 10 | Group-Object Command | Sort-Object Count -Descending | Select-Object -First 10 Count, Name</code>
///   <para>The commands started most often in the next ten seconds: the process storm behind high system CPU.</para>
/// </example>
/// <example>
///   <code>Trace-ProcessExec -Duration 0:0:30 -Cgroup system.slice/cron.service | Select-Object Time, ProcessId, ParentProcessId, CommandLine</code>
///   <para>Everything cron starts during half a minute, with full command lines.</para>
/// </example>
[Cmdlet(VerbsDiagnostic.Trace, "ProcessExec")]
[OutputType(typeof(ProcessExec))]
public sealed class TraceProcessExecCommand : TaskMeasureCmdlet
{
    /// <inheritdoc />
    protected override string Activity => "Tracing process execs";

    /// <inheritdoc />
    protected override IBpfMeter<object> StartMeter(Action<string> verbose) =>
        ProcessExecTracer.Start(KernelRoot.Live, new ProcessExecOptions
        {
            Filter = TaskFilter,
            CommandFilter = CommandFilter,
            ProgramStatistics = !NoProgramStatistics,
        }, verbose);
}

/// <summary>
/// <para type="synopsis">Streams every process exit as it happens, with eBPF: exit code or killing signal, core dump, lifetime and parent.</para>
/// <para type="description">Trace-ProcessExit loads a small precompiled CO-RE BPF program (kd_xt_*) on the sched:sched_process_exit tracepoint, as libbpf-tools' exitsnoop does, and writes one ProcessExit record per exit as it arrives through a BPF ring buffer: ExitCode when the process exited by itself, Signal (and CoreDumped) when a signal killed it, the raw wait status, and Lifetime from the task's start time. By default only a process's exit counts (its last thread); -Thread reports every thread's. -FailedOnly keeps non-zero exits and signal deaths, which is how crashing helpers and OOM kills show. -ProcessId, -ThreadId and -Cgroup filter in the kernel, -Name on the command name. Exits the kernel could not write because the ring buffer was full are counted and reported as a warning. It traces for -Duration, or until Ctrl+C in an interactive console, and removes every program, map and link on completion, on error and on Ctrl+C. Needs root, or CAP_BPF and CAP_PERFMON, and a kernel with BTF.</para>
/// </summary>
/// <example>
///   <code>Trace-ProcessExit -FailedOnly -Duration 0:1:0 | Select-Object Time, ProcessId, Command, ExitCode, Signal, Lifetime</code>
///   <para>Every process that failed or was killed during a minute, with how long it lived.</para>
/// </example>
/// <example>
///   <code>Trace-ProcessExit -Duration 10 | Where-Object Lifetime -lt ([timespan]::FromMilliseconds(100)) | Group-Object Command</code>
///   <para>The short-lived processes of the next ten seconds, by command.</para>
/// </example>
[Cmdlet(VerbsDiagnostic.Trace, "ProcessExit")]
[OutputType(typeof(ProcessExit))]
public sealed class TraceProcessExitCommand : TaskMeasureCmdlet
{
    /// <summary>
    /// <para type="description">Reports every thread's exit, not only each process's (its last thread).</para>
    /// </summary>
    [Parameter]
    public SwitchParameter Thread { get; set; }

    /// <summary>
    /// <para type="description">Only exits with a non-zero exit code or by a signal.</para>
    /// </summary>
    [Parameter]
    public SwitchParameter FailedOnly { get; set; }

    /// <inheritdoc />
    protected override string Activity => "Tracing process exits";

    /// <inheritdoc />
    protected override IBpfMeter<object> StartMeter(Action<string> verbose) =>
        ProcessExitTracer.Start(KernelRoot.Live, new ProcessExitOptions
        {
            Filter = TaskFilter,
            CommandFilter = CommandFilter,
            Threads = Thread,
            FailedOnly = FailedOnly,
            ProgramStatistics = !NoProgramStatistics,
        }, verbose);
}

/// <summary>
/// <para type="synopsis">Streams every signal the kernel generates, with eBPF: who sent which signal to whom, how (kill, tgkill, the kernel), and what the kernel did with it.</para>
/// <para type="description">Trace-Signal loads a small precompiled CO-RE BPF program (kd_sg_*) on the signal:signal_generate tracepoint, as libbpf-tools' sigsnoop does (and killsnoop, without its kprobes), and writes one SignalSent record per signal as it arrives through a BPF ring buffer: the sender (the task in whose context the signal was generated), the target process and thread, the signal, its si_code as a name (SI_USER for kill, SI_TKILL, SI_KERNEL for faults and the OOM killer), whether it went to the whole thread group, and the result (delivered, ignored, already pending, queue overflow). -ProcessId, -ThreadId, -Cgroup and -Name select senders; with -Target they select targets instead ("who is killing my process?"). -Signal keeps only the named signals (names with or without SIG, or numbers), -FailedOnly only those not delivered. Signals the kernel could not write because the ring buffer was full are counted and reported as a warning. It traces for -Duration, or until Ctrl+C in an interactive console, and removes every program, map and link on completion, on error and on Ctrl+C. Needs root, or CAP_BPF and CAP_PERFMON, and a kernel with BTF.</para>
/// </summary>
/// <example>
///   <code>Trace-Signal -ProcessId (Get-Process nginx).Id -Target -Duration 0:5:0 | Select-Object Time, Command, ProcessId, Signal, Code</code>
///   <para>Who sends signals to the nginx processes during five minutes, and how.</para>
/// </example>
/// <example>
///   <code>Trace-Signal -Signal KILL, TERM -Duration 60 | Format-Table Time, Command, TargetCommand, TargetProcessId, Signal, Result</code>
///   <para>Every SIGKILL and SIGTERM on the machine during a minute, with sender and target.</para>
/// </example>
[Cmdlet(VerbsDiagnostic.Trace, "Signal")]
[OutputType(typeof(SignalSent))]
public sealed class TraceSignalCommand : TaskMeasureCmdlet
{
    private int[] _signals = [];

    /// <summary>
    /// <para type="description">Applies -ProcessId, -ThreadId, -Cgroup and -Name to the target of the signal instead of its sender.</para>
    /// </summary>
    [Parameter]
    public SwitchParameter Target { get; set; }

    /// <summary>
    /// <para type="description">Only these signals: names with or without SIG (KILL, SIGTERM, USR1, RTMIN+2) or numbers.</para>
    /// </summary>
    [Parameter]
    [ArgumentCompleter(typeof(SignalNameCompleter))]
    public string[]? Signal { get; set; }

    /// <summary>
    /// <para type="description">Only signals the kernel did not deliver (ignored, already pending, queue overflow).</para>
    /// </summary>
    [Parameter]
    public SwitchParameter FailedOnly { get; set; }

    /// <inheritdoc />
    protected override string Activity => "Tracing signals";

    /// <inheritdoc />
    protected override void Validate()
    {
        var numbers = new List<int>();
        foreach (var s in Signal ?? [])
            numbers.Add(SignalNames.Number(s) ?? throw new KernelDebugException("UnknownSignal", KernelErrorCategory.InvalidArgument,
                $"'{s}' is not a signal name or number.", "Use a name such as KILL, SIGTERM or USR1, or a number from 1 to 64.", s));
        _signals = numbers.Distinct().ToArray();
    }

    /// <inheritdoc />
    protected override IBpfMeter<object> StartMeter(Action<string> verbose) =>
        SignalTracer.Start(KernelRoot.Live, new SignalOptions
        {
            Filter = TaskFilter,
            CommandFilter = CommandFilter,
            ByTarget = Target,
            Signals = _signals,
            FailedOnly = FailedOnly,
            ProgramStatistics = !NoProgramStatistics,
        }, verbose);
}

/// <summary>Completes signal names (SIGHUP ... SIGSYS, SIGRTMIN).</summary>
public sealed class SignalNameCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        System.Management.Automation.Language.CommandAst commandAst, System.Collections.IDictionary fakeBoundParameters)
    {
        var pattern = new WildcardPattern(wordToComplete.Trim('\'', '"') + "*", WildcardOptions.IgnoreCase);
        for (int i = 1; i <= SignalNames.RealTimeMin; i++)
        {
            string name = SignalNames.Name(i), shortName = name[3..];
            if (pattern.IsMatch(name) || pattern.IsMatch(shortName))
                yield return new CompletionResult(shortName, shortName, CompletionResultType.ParameterValue, $"{name} ({i})");
        }
    }
}
