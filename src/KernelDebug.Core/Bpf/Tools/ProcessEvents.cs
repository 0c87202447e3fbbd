using System.Runtime.InteropServices;
using System.Text;
using KernelDebug.Core.Bpf.Engine;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Symbols;

namespace KernelDebug.Core.Bpf.Tools;

/// <summary>Where a ProcessExec's arguments were read.</summary>
public enum ExecArgumentSource
{
    /// <summary>Not read.</summary>
    None,
    /// <summary>In BPF, from the new process's argument area (mm->arg_start..arg_end) at exec time.</summary>
    Kernel,
    /// <summary>From /proc/PID/cmdline in user space (the kernel read failed; the process may have changed it since).</summary>
    ProcCmdline,
}

/// <summary>One successful exec (Trace-ProcessExec).</summary>
public sealed record ProcessExec
{
    /// <summary>When the exec happened.</summary>
    public DateTimeOffset Time { get; init; }
    /// <summary>Process id (unchanged by exec).</summary>
    public int ProcessId { get; init; }
    /// <summary>Parent process id.</summary>
    public int ParentProcessId { get; init; }
    /// <summary>The thread that called exec, when it was not the leader (it takes the leader's id).</summary>
    public int? ExecThreadId { get; init; }
    /// <summary>Real user id of the caller.</summary>
    public int UserId { get; init; }
    /// <summary>The new command name (comm, at most 15 characters).</summary>
    public string Command { get; init; } = "";
    /// <summary>The file the kernel executed, as the caller named it (bprm->filename).</summary>
    public string FileName { get; init; } = "";
    /// <summary>The arguments (argv), argv[0] first.</summary>
    public IReadOnlyList<string> Arguments { get; init => field = Flat.List(value, " "); } = FlatList<string>.Empty;
    /// <summary>The arguments joined by spaces (the flat companion of Arguments).</summary>
    public string CommandLine => Arguments.ToString() ?? "";
    /// <summary>True when the argument area was longer than the 4096 bytes kept.</summary>
    public bool ArgumentsTruncated { get; init; }
    /// <summary>Where the arguments were read.</summary>
    public ExecArgumentSource ArgumentSource { get; init; }
    /// <summary>Cgroup path (in the -Cgroup hierarchy, else v2).</summary>
    public string? CgroupPath { get; init; }
    /// <summary>The container id the cgroup path holds, if any.</summary>
    public string? ContainerId { get; init; }
}

/// <summary>One process exit (Trace-ProcessExit).</summary>
public sealed record ProcessExit
{
    /// <summary>When the process exited.</summary>
    public DateTimeOffset Time { get; init; }
    /// <summary>Process id.</summary>
    public int ProcessId { get; init; }
    /// <summary>Thread id (differs from ProcessId only with -Thread).</summary>
    public int ThreadId { get; init; }
    /// <summary>Parent process id at exit.</summary>
    public int ParentProcessId { get; init; }
    /// <summary>Command name.</summary>
    public string Command { get; init; } = "";
    /// <summary>Exit status (0-255) when the process exited by itself; null when a signal killed it.</summary>
    public int? ExitCode { get; init; }
    /// <summary>The signal that killed it (e.g. SIGKILL), null when it exited by itself.</summary>
    public string? Signal { get; init; }
    /// <summary>True when the killing signal dumped core.</summary>
    public bool CoreDumped { get; init; }
    /// <summary>The raw wait status (task->exit_code).</summary>
    public int RawExitCode { get; init; }
    /// <summary>How long the process (or thread) lived, from its start time.</summary>
    public TimeSpan Lifetime { get; init; }
    /// <summary>When it started.</summary>
    public DateTimeOffset StartTime { get; init; }
    /// <summary>Cgroup path.</summary>
    public string? CgroupPath { get; init; }
    /// <summary>The container id the cgroup path holds, if any.</summary>
    public string? ContainerId { get; init; }
}

/// <summary>TRACE_SIGNAL_* of include/trace/events/signal.h: what the kernel did with a generated signal.</summary>
public enum SignalResult
{
    /// <summary>Queued for the target.</summary>
    Delivered = 0,
    /// <summary>Ignored by the target (SIG_IGN, or a default-ignore signal).</summary>
    Ignored = 1,
    /// <summary>A non-real-time signal already pending: merged.</summary>
    AlreadyPending = 2,
    /// <summary>A real-time signal not queued: the queue limit (RLIMIT_SIGPENDING) was reached.</summary>
    OverflowFail = 3,
    /// <summary>Delivered without its siginfo (no memory for it).</summary>
    LoseInfo = 4,
}

/// <summary>One signal generated (Trace-Signal).</summary>
public sealed record SignalSent
{
    /// <summary>When it was generated.</summary>
    public DateTimeOffset Time { get; init; }
    /// <summary>Sender process id (the task in whose context the signal was generated; the kernel for SI_KERNEL).</summary>
    public int ProcessId { get; init; }
    /// <summary>Sender thread id.</summary>
    public int ThreadId { get; init; }
    /// <summary>Sender command name.</summary>
    public string Command { get; init; } = "";
    /// <summary>Target process id.</summary>
    public int TargetProcessId { get; init; }
    /// <summary>Target thread id.</summary>
    public int TargetThreadId { get; init; }
    /// <summary>Target command name.</summary>
    public string TargetCommand { get; init; } = "";
    /// <summary>Signal number.</summary>
    public int SignalNumber { get; init; }
    /// <summary>Signal name (SIGUSR1).</summary>
    public string Signal { get; init; } = "";
    /// <summary>si_code as a name (SI_USER: kill, SI_TKILL: tgkill, SI_KERNEL, ...).</summary>
    public string Code { get; init; } = "";
    /// <summary>True when sent to the whole thread group.</summary>
    public bool Group { get; init; }
    /// <summary>What the kernel did with it.</summary>
    public SignalResult Result { get; init; }
    /// <summary>Sender's cgroup path.</summary>
    public string? CgroupPath { get; init; }
}

/// <summary>Options of Trace-ProcessExec.</summary>
public sealed record ProcessExecOptions : BpfToolOptions
{
    /// <summary>Only execs whose new command name matches (user space).</summary>
    public Func<string, bool>? CommandFilter { get; init; }
}

/// <summary>Options of Trace-ProcessExit.</summary>
public sealed record ProcessExitOptions : BpfToolOptions
{
    /// <summary>Only exits whose command matches (user space).</summary>
    public Func<string, bool>? CommandFilter { get; init; }
    /// <summary>Every thread's exit, not only the process's (its last thread).</summary>
    public bool Threads { get; init; }
    /// <summary>Only exits with a non-zero status or by a signal.</summary>
    public bool FailedOnly { get; init; }
}

/// <summary>Options of Trace-Signal.</summary>
public sealed record SignalOptions : BpfToolOptions
{
    /// <summary>Only sender (or with ByTarget, target) commands matching (user space).</summary>
    public Func<string, bool>? CommandFilter { get; init; }
    /// <summary>Apply the task filter and command filter to the target instead of the sender.</summary>
    public bool ByTarget { get; init; }
    /// <summary>Only these signal numbers (empty: all).</summary>
    public IReadOnlyList<int> Signals { get; init; } = [];
    /// <summary>Only signals not delivered.</summary>
    public bool FailedOnly { get; init; }
}

/// <summary>Trace-ProcessExec's tool: execsnoop.bpf.c on sched_process_exec.</summary>
public sealed class ProcessExecTracer : BpfEventTool<ProcessExec>
{
    private readonly ProcessExecOptions _options;

    private ProcessExecTracer(KernelRoot root, ProcessExecOptions options) : base(root, options, "execsnoop", "kd_ex", "sched:sched_process_exec", "exec") => _options = options;

    /// <summary>Validates, loads and attaches. Errors are KernelDebugExceptions with remedies.</summary>
    public static ProcessExecTracer Start(KernelRoot root, ProcessExecOptions options, Action<string>? verbose = null) =>
        Launch(new ProcessExecTracer(root, options), verbose);


    /// <inheritdoc />
    protected override unsafe ProcessExec? DecodeEvent(ReadOnlySpan<byte> sample)
    {
        var e = BpfAbi.Read<ExecEvent>(sample);
        string comm = BpfAbi.Text(new ReadOnlySpan<byte>(e.Comm, 16));
        if (_options.CommandFilter is { } f && !f(comm)) return null;
        var source = ExecArgumentSource.None;
        IReadOnlyList<string> args = [];
        int n = (int)Math.Min(e.ArgsSize, (uint)EventAbi.ExecArgsMax);
        if (n > 0)
        {
            args = SplitArguments(new ReadOnlySpan<byte>(e.Args, n));
            source = ExecArgumentSource.Kernel;
        }
        else if (Root.TryReadText($"proc/{e.Pid}/cmdline", 64 * 1024) is { Length: > 0 } cmdline)
        {
            args = SplitArguments(Encoding.UTF8.GetBytes(cmdline));
            source = ExecArgumentSource.ProcCmdline;
        }
        string? path = CgroupNames.PathOf(e.Cgroup);
        return new ProcessExec
        {
            Time = WallTime(e.Ts),
            ProcessId = (int)e.Pid,
            ParentProcessId = (int)e.Ppid,
            ExecThreadId = e.OldTid != e.Pid ? (int)e.OldTid : null,
            UserId = (int)e.Uid,
            Command = comm,
            FileName = BpfAbi.Text(new ReadOnlySpan<byte>(e.Filename, EventAbi.ExecPathMax)),
            Arguments = args,
            ArgumentsTruncated = e.ArgsTotal > e.ArgsSize && source == ExecArgumentSource.Kernel,
            ArgumentSource = source,
            CgroupPath = path,
            ContainerId = Cgroups.ContainerId(path),
        };
    }

    /// <summary>NUL-separated argv bytes as strings (a trailing NUL ends the last one; a truncated last one is kept).</summary>
    public static IReadOnlyList<string> SplitArguments(ReadOnlySpan<byte> area)
    {
        var list = new List<string>();
        while (area.Length > 0)
        {
            int z = area.IndexOf((byte)0);
            list.Add(Encoding.UTF8.GetString(z < 0 ? area : area[..z]));
            if (z < 0) break;
            area = area[(z + 1)..];
        }
        return list;
    }
}

/// <summary>Trace-ProcessExit's tool: exitsnoop.bpf.c on sched_process_exit.</summary>
public sealed class ProcessExitTracer : BpfEventTool<ProcessExit>
{
    private readonly ProcessExitOptions _options;

    private ProcessExitTracer(KernelRoot root, ProcessExitOptions options) : base(root, options, "exitsnoop", "kd_xt", "sched:sched_process_exit", "exit") => _options = options;

    /// <summary>Validates, loads and attaches. Errors are KernelDebugExceptions with remedies.</summary>
    public static ProcessExitTracer Start(KernelRoot root, ProcessExitOptions options, Action<string>? verbose = null) =>
        Launch(new ProcessExitTracer(root, options), verbose);

    /// <inheritdoc />
    protected override void Configure(BpfSession session, BpfAttachMethod method)
    {
        if (_options.Threads) session.SetGlobal("targ_threads", (byte)1);
    }

    /// <summary>A wait status (task->exit_code) as exit code, or signal and core dump.</summary>
    public static (int? ExitCode, int? Signal, bool CoreDumped) DecodeStatus(int status)
    {
        int sig = status & 0x7f;
        return sig == 0 ? ((status >> 8) & 0xff, null, false) : (null, sig, (status & 0x80) != 0);
    }

    /// <inheritdoc />
    protected override unsafe ProcessExit? DecodeEvent(ReadOnlySpan<byte> sample)
    {
        var e = BpfAbi.Read<ExitEvent>(sample);
        string comm = BpfAbi.Text(new ReadOnlySpan<byte>(e.Comm, 16));
        if (_options.CommandFilter is { } f && !f(comm)) return null;
        var (code, sig, core) = DecodeStatus((int)e.ExitCode);
        if (_options.FailedOnly && code == 0) return null;
        string? path = CgroupNames.PathOf(e.Cgroup);
        return new ProcessExit
        {
            Time = WallTime(e.Ts),
            ProcessId = (int)e.Pid,
            ThreadId = (int)e.Tid,
            ParentProcessId = (int)e.Ppid,
            Command = comm,
            ExitCode = code,
            Signal = sig is { } s ? SignalNames.Name(s) : null,
            CoreDumped = core,
            RawExitCode = (int)e.ExitCode,
            Lifetime = e.Ts > e.StartTime ? BpfToolLoader.FromNanoseconds(e.Ts - e.StartTime) : TimeSpan.Zero,
            StartTime = WallTime(e.StartTime),
            CgroupPath = path,
            ContainerId = Cgroups.ContainerId(path),
        };
    }
}

/// <summary>Trace-Signal's tool: sigsnoop.bpf.c on signal_generate.</summary>
public sealed class SignalTracer : BpfEventTool<SignalSent>
{
    private readonly SignalOptions _options;

    private SignalTracer(KernelRoot root, SignalOptions options) : base(root, options, "sigsnoop", "kd_sg", "signal:signal_generate", "generate") => _options = options;

    /// <summary>Validates, loads and attaches. Errors are KernelDebugExceptions with remedies.</summary>
    public static SignalTracer Start(KernelRoot root, SignalOptions options, Action<string>? verbose = null) =>
        Launch(new SignalTracer(root, options), verbose);

    /// <inheritdoc />
    protected override void Validate()
    {
        foreach (var s in _options.Signals)
            if (s is < 1 or > 64)
                throw new Errors.KernelDebugException("InvalidSignal", Errors.KernelErrorCategory.InvalidArgument, $"Signal {s} is not a Linux signal (1-64).", null, s);
    }
    /// <inheritdoc />
    protected override void Configure(BpfSession session, BpfAttachMethod method)
    {
        if (_options.ByTarget) session.SetGlobal("targ_by_target", (byte)1);
        if (_options.FailedOnly) session.SetGlobal("targ_failed", (byte)1);
        if (_options.Signals.Count > 0) session.SetGlobal("targ_signals", _options.Signals.Aggregate(0UL, (m, s) => m | (1UL << (s - 1))));
    }

    /// <inheritdoc />
    protected override unsafe SignalSent? DecodeEvent(ReadOnlySpan<byte> sample)
    {
        var e = BpfAbi.Read<SignalEvent>(sample);
        string comm = BpfAbi.Text(new ReadOnlySpan<byte>(e.Comm, 16));
        string target = BpfAbi.Text(new ReadOnlySpan<byte>(e.TargetComm, 16));
        if (_options.CommandFilter is { } f && !f(_options.ByTarget ? target : comm)) return null;
        return new SignalSent
        {
            Time = WallTime(e.Ts),
            ProcessId = (int)e.Pid,
            ThreadId = (int)e.Tid,
            Command = comm,
            TargetProcessId = (int)e.TargetPid,
            TargetThreadId = (int)e.TargetTid,
            TargetCommand = target,
            SignalNumber = e.Sig,
            Signal = SignalNames.Name(e.Sig),
            Code = SignalNames.Code(e.Sig, e.Code),
            Group = e.Group != 0,
            Result = (SignalResult)e.Result,
            CgroupPath = CgroupNames.PathOf(e.Cgroup),
        };
    }
}
