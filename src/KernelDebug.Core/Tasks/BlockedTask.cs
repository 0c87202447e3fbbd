using KernelDebug.Core.Errors;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Procfs;
using KernelDebug.Core.Symbols;

namespace KernelDebug.Core.Tasks;

/// <summary>A task (thread) in a sleep state worth a look — by default uninterruptible (D) — with where it waits.</summary>
public sealed record BlockedTask
{
    /// <summary>Process (thread group) id.</summary>
    public int ProcessId { get; init; }
    /// <summary>Thread id.</summary>
    public int ThreadId { get; init; }
    /// <summary>Thread command name.</summary>
    public required string Command { get; init; }
    /// <summary>Scheduler state.</summary>
    public TaskState State { get; init; }
    /// <summary>The kernel function it sleeps in (<c>wchan</c>), or null when unknown.</summary>
    public string? WaitChannel { get; init; }
    /// <summary>The kernel stack, innermost first (root only; empty otherwise).</summary>
    public IReadOnlyList<StackFrame> Stack { get; init => field = Flat.List(value); } = FlatList<StackFrame>.Empty;
    /// <summary>The cgroup (v2 path) the task is in.</summary>
    public string? CGroup { get; init; }
    /// <summary>Whether it is a kernel thread.</summary>
    public bool IsKernelThread { get; init; }
    /// <summary>
    /// Time since the task last ran: its <c>se.exec_start</c> (<c>/proc/PID/sched</c>) against this reader's own, read
    /// on the same CPU — per-CPU scheduler clocks are not comparable across CPUs (they leave out IRQ and steal time),
    /// so the value is null for a task that last ran on another CPU than the reader. For a blocked task, how long it
    /// has been asleep. Live system only.
    /// </summary>
    public TimeSpan? SinceLastRun { get; init; }
    /// <summary>With -Interval: time between the first and the latest sample that saw it blocked in a row.</summary>
    public TimeSpan? BlockedFor { get; init; }
    /// <summary>Consecutive samples that saw it in the state (1 for a single read).</summary>
    public int SampleCount { get; init; } = 1;
    /// <summary>The hung-task watchdog's timeout (<c>kernel.hung_task_timeout_secs</c>); null when the kernel has no watchdog, zero when disabled.</summary>
    public TimeSpan? HungTaskTimeout { get; init; }
    /// <summary>When the task was seen.</summary>
    public DateTimeOffset Timestamp { get; init; }
    /// <summary>Process start after boot, in clock ticks, telling a reused id from the same task.</summary>
    public ulong StartTicks { get; init; }

    /// <summary>The innermost frames as one line, for tables.</summary>
    public string StackSummary => string.Join(" < ", Stack.Take(4).Select(f => f.Function));
}

/// <summary>Reads tasks in given states from <c>/proc</c>.</summary>
public static class BlockedTaskReader
{
    /// <summary>The default state set: uninterruptible sleep.</summary>
    public static readonly IReadOnlySet<TaskState> DefaultStates = new HashSet<TaskState> { TaskState.UninterruptibleSleep };

    /// <summary>
    /// Every thread whose state is in <paramref name="states"/> (and, when given, in <paramref name="processIds"/>).
    /// Kernel stacks are read only where permitted; <paramref name="stackDenied"/> is set when one was refused.
    /// </summary>
    public static IReadOnlyList<BlockedTask> Read(KernelRoot root, IReadOnlySet<TaskState> states, IReadOnlySet<int>? processIds,
        ParseContext ctx, out bool stackDenied)
    {
        stackDenied = false;
        if (!root.DirectoryExists("proc/self") && !root.Exists("proc/1/stat") && !root.DirectoryExists("proc"))
            throw KernelErrors.FileNotFound(root.Resolve("proc"), "procfs (mount -t proc proc /proc)");
        var now = DateTimeOffset.Now;
        TimeSpan? hung = null;
        if (root.TryReadValue("proc/sys/kernel/hung_task_timeout_secs") is { } h)
        {
            if (Fields.TryLong(h, out long hs) && Fields.TrySeconds(hs, out var ht)) hung = ht;
            else ctx.Warn(root.Resolve("proc/sys/kernel/hung_task_timeout_secs"), 1, "not a number of seconds", h);
        }
        var self = root.IsLive ? ReadSelfClock(root, ctx) : null;
        var result = new List<BlockedTask>();
        foreach (string pidName in root.EnumerateEntries("proc"))
        {
            if (!int.TryParse(pidName, out int pid) || pid <= 0) continue;
            if (processIds is not null && !processIds.Contains(pid)) continue;
            foreach (string tidName in root.EnumerateEntries($"proc/{pid}/task"))
            {
                if (!int.TryParse(tidName, out int tid)) continue;
                string dir = $"proc/{pid}/task/{tid}/";
                string? statText = root.TryReadText(dir + "stat", 4096);
                if (statText is null) continue; // exited meanwhile
                ctx.Source = root.Resolve(dir + "stat");
                var stat = PidStatParser.Parse(statText, ctx);
                if (stat is null || !states.Contains(stat.State)) continue;
                string? wchan = root.TryReadValue(dir + "wchan");
                if (wchan is "0" or "") wchan = null;
                IReadOnlyList<StackFrame> stack = Array.Empty<StackFrame>();
                string stackPath = root.Resolve(dir + "stack");
                try
                {
                    ctx.Source = stackPath;
                    stack = PidStackParser.Parse(ReadStack(stackPath), ctx);
                }
                catch (UnauthorizedAccessException) { stackDenied |= !Environment.IsPrivilegedProcess; }
                catch (IOException) { }
                TimeSpan? since = self is { } me && me.Cpu == stat.LastCpu && ReadExecStart(root, dir + "sched", ctx) is double it
                    ? SinceLastRun(me.ExecStartMs, it) : null;
                result.Add(new BlockedTask
                {
                    ProcessId = pid,
                    ThreadId = tid,
                    Command = stat.Command,
                    State = stat.State,
                    WaitChannel = wchan,
                    Stack = stack,
                    CGroup = root.TryReadText($"proc/{pid}/cgroup", 64 * 1024) is { } cg ? PidCgroupParser.Parse(cg) : null,
                    IsKernelThread = stat.IsKernelThread,
                    SinceLastRun = since,
                    HungTaskTimeout = hung,
                    Timestamp = now,
                    StartTicks = stat.StartTicks,
                });
            }
        }
        return result;
    }

    /// <summary>
    /// The time between a task's last run and the reader's clock, both <c>se.exec_start</c> values in milliseconds of the
    /// same CPU's scheduler clock. A task that ran after the reader's reading gives zero; a gap no duration holds gives null.
    /// </summary>
    public static TimeSpan? SinceLastRun(double readerExecStartMs, double taskExecStartMs) =>
        Fields.TryMilliseconds(Math.Max(0, readerExecStartMs - taskExecStartMs), out var t) ? t : null;


    // Our own exec_start is "now" on our CPU to within a tick; read the CPU before and after so a migration in between is noticed.
    private static (int Cpu, double ExecStartMs)? ReadSelfClock(KernelRoot root, ParseContext ctx)
    {
        for (int attempt = 0; attempt < 3; attempt++)
        {
            int before = SelfCpu(root, ctx);
            double? start = ReadExecStart(root, "proc/thread-self/sched", ctx);
            if (start is double ms && before >= 0 && before == SelfCpu(root, ctx)) return (before, ms);
        }
        return null;
    }

    private static int SelfCpu(KernelRoot root, ParseContext ctx) =>
        root.TryReadText("proc/thread-self/stat", 4096) is { } t && PidStatParser.Parse(t, ctx) is { } s ? s.LastCpu : -1;

    // /proc/PID/stack is mode 0400: an unprivileged read fails with EACCES, which must not look like "no frames".
    private static string ReadStack(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
        using var r = new StreamReader(fs);
        return r.ReadToEnd();
    }

    private static double? ReadExecStart(KernelRoot root, string relative, ParseContext ctx)
    {
        string? text = root.TryReadText(relative, 64 * 1024);
        if (text is null) return null;
        ctx.Source = root.Resolve(relative);
        return PidSchedParser.ExecStartMilliseconds(text, ctx);
    }
}

/// <summary>
/// Follows blocked tasks across samples: a task seen blocked in consecutive samples accumulates
/// <see cref="BlockedTask.BlockedFor"/> and <see cref="BlockedTask.SampleCount"/>; one that ran in between starts over.
/// </summary>
public sealed class BlockedTaskTracker
{
    private Dictionary<(int Tid, ulong Start, TaskState State), (DateTimeOffset First, int Count)> _seen = new();

    /// <summary>Adds a sample and returns its tasks with their run of consecutive sightings.</summary>
    public IReadOnlyList<BlockedTask> Add(IReadOnlyList<BlockedTask> sample)
    {
        var next = new Dictionary<(int, ulong, TaskState), (DateTimeOffset, int)>();
        var result = new List<BlockedTask>(sample.Count);
        foreach (var t in sample)
        {
            var key = (t.ThreadId, t.StartTicks, t.State);
            var (first, count) = _seen.TryGetValue(key, out var prev) ? (prev.First, prev.Count + 1) : (t.Timestamp, 1);
            next[key] = (first, count);
            result.Add(t with { SampleCount = count, BlockedFor = t.Timestamp - first });
        }
        _seen = next;
        return result;
    }
}
