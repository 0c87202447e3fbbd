using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Procfs;

/// <summary>A task's scheduler state, as the state letter of <c>/proc/PID/stat</c> gives it.</summary>
public enum TaskState
{
    /// <summary>R: running or runnable.</summary>
    Running = 'R',
    /// <summary>S: interruptible sleep.</summary>
    Sleeping = 'S',
    /// <summary>D: uninterruptible sleep (usually I/O or a lock); what hangs look like.</summary>
    UninterruptibleSleep = 'D',
    /// <summary>T: stopped by a signal.</summary>
    Stopped = 'T',
    /// <summary>t: stopped by a tracer.</summary>
    TracingStop = 't',
    /// <summary>Z: exited, not yet reaped.</summary>
    Zombie = 'Z',
    /// <summary>X: dead.</summary>
    Dead = 'X',
    /// <summary>I: idle kernel thread (uninterruptible but not counted in load).</summary>
    Idle = 'I',
    /// <summary>P: parked kernel thread.</summary>
    Parked = 'P',
    /// <summary>W: waking (old kernels) or paging.</summary>
    Waking = 'W',
    /// <summary>K: wakekill (old kernels).</summary>
    WakeKill = 'K',
    /// <summary>x: dead (old kernels).</summary>
    DeadOld = 'x',
}

/// <summary>The fields of <c>/proc/PID/stat</c> (or <c>/proc/PID/task/TID/stat</c>) that the task readers use.</summary>
/// <param name="Id">PID or TID.</param>
/// <param name="Command">Command name (comm), up to 15 characters, parentheses removed.</param>
/// <param name="State">State.</param>
/// <param name="ParentId">Parent PID.</param>
/// <param name="Flags">PF_* flags.</param>
/// <param name="StartTicks">Start time after boot, in clock ticks (USER_HZ).</param>
/// <param name="BlockIoDelayTicks">Aggregated block I/O delay in clock ticks (delay accounting), or 0.</param>
/// <param name="LastCpu">The CPU the task last ran on (field 39), or -1 when the line is too short.</param>
public sealed record PidStat(int Id, string Command, TaskState State, int ParentId, ulong Flags, ulong StartTicks, ulong BlockIoDelayTicks, int LastCpu = -1)
{
    /// <summary>PF_KTHREAD: the task is a kernel thread.</summary>
    public bool IsKernelThread => (Flags & 0x00200000) != 0;
}

/// <summary>Parses <c>/proc/PID/stat</c>.</summary>
public static class PidStatParser
{
    /// <summary>Parses the one line; returns null (and warns) when it is malformed.</summary>
    public static PidStat? Parse(ReadOnlySpan<char> text, ParseContext ctx)
    {
        text = text.TrimEnd();
        // The command may hold spaces and parentheses: it runs from the first '(' to the last ')'.
        int open = text.IndexOf('('), close = text.LastIndexOf(')');
        if (open <= 0 || close < open || !int.TryParse(text[..open].Trim(), out int id)) { ctx.Warn(1, "expected 'pid (comm) state ...'", text); return null; }
        var f = Fields.Split(text[(close + 1)..]);
        var state = f.Next();
        if (state.Length != 1 || !Enum.IsDefined(typeof(TaskState), (int)state[0])) { ctx.Warn(1, "unknown task state", state); return null; }
        // Fields after the state, numbered as in proc(5): 4 ppid ... 9 flags ... 22 starttime ... 42 delayacct_blkio_ticks.
        Span<ulong> v = stackalloc ulong[40];
        int count = 0;
        while (count < v.Length && f.MoveNext())
        {
            var cur = f.Current;
            if (Fields.TryULong(cur, out ulong u)) v[count] = u;
            else if (Fields.TryLong(cur, out long s)) v[count] = (ulong)s;
            else { ctx.Warn(1, "non-numeric stat field", cur); return null; }
            count++;
        }
        if (count < 19) { ctx.Warn(1, "stat line is too short", text); return null; }
        ulong ppid = v[0], flags = v[5], start = v[18], blkio = count > 38 ? v[38] : 0;
        int cpu = count > 35 ? (int)v[35] : -1;
        return new PidStat(id, text[(open + 1)..close].ToString(), (TaskState)state[0], (int)ppid, flags, start, blkio, cpu);
    }
}
