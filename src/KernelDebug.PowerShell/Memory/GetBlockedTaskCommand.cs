using System.Management.Automation;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Procfs;
using KernelDebug.Core.Tasks;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Memory;

/// <summary>
/// <para type="synopsis">Gets tasks in uninterruptible sleep (D state) — or other states — with their wait channel, kernel stack and cgroup; with -Interval, the ones that stay blocked.</para>
/// <para type="description">Get-BlockedTask walks /proc/PID/task/TID and returns every thread in the requested states (default: UninterruptibleSleep, the D state of hung I/O and lock waits): process and thread id, command, state, the kernel function it sleeps in (wchan), its kernel stack parsed into frames (root only: /proc/PID/stack is mode 0400), its cgroup, and SinceLastRun, the time since it last ran taken from the scheduler clock. Each record carries the hung-task watchdog's timeout (kernel.hung_task_timeout_secs). With -Interval it samples repeatedly and reports the tasks seen blocked in at least two consecutive samples, with BlockedFor (time between the first and the latest sample) and SampleCount: a hang caught before the watchdog prints "task blocked for more than N seconds". -Root reads a snapshot's proc tree.</para>
/// </summary>
/// <example>
///   <code>Get-BlockedTask</code>
///   <para>Every thread in D state now, with where it waits.</para>
/// </example>
/// <example>
///   <code>Get-BlockedTask -Interval 00:00:02 -Count 10 | Where-Object BlockedFor -gt ([timespan]'00:00:10') | Select-Object ProcessId, Command, WaitChannel, BlockedFor, StackSummary</code>
///   <para>Samples for 20 seconds and lists the threads stuck in D for over 10 seconds.</para>
/// </example>
/// <example>
///   <code>Get-BlockedTask -State UninterruptibleSleep, Stopped | Group-Object WaitChannel | Sort-Object Count -Descending</code>
///   <para>Which kernel functions the blocked and stopped tasks wait in, most common first.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "BlockedTask", DefaultParameterSetName = "Once")]
[OutputType(typeof(BlockedTask))]
public sealed class GetBlockedTaskCommand : SamplingReaderCmdlet
{
    /// <summary>
    /// <para type="description">Task states to report (default UninterruptibleSleep). Idle kernel threads are in state Idle, not UninterruptibleSleep.</para>
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public TaskState[] State { get; set; } = [TaskState.UninterruptibleSleep];

    /// <summary>
    /// <para type="description">Only these processes (thread group ids).</para>
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "Pid")]
    public int[]? ProcessId { get; set; }

    /// <summary>
    /// <para type="description">Only threads whose command matches (wildcards allowed).</para>
    /// </summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    public string[]? Name { get; set; }

    private bool _warnedStack;

    /// <inheritdoc />
    protected override void Process()
    {
        var states = State.ToHashSet();
        var pids = ProcessId is { Length: > 0 } ? ProcessId.ToHashSet() : null;
        var patterns = Name?.Select(n => WildcardPattern.Get(n, WildcardOptions.IgnoreCase)).ToArray();
        var ctx = new ParseContext(KernelRoot.Resolve("proc"));
        IReadOnlyList<BlockedTask> Read()
        {
            var tasks = BlockedTaskReader.Read(KernelRoot, states, pids, ctx, out bool denied);
            WriteIssues(ctx);
            if (denied && !_warnedStack)
            {
                _warnedStack = true;
                WriteWarning("Kernel stacks are left out: /proc/PID/stack is readable by root only (CAP_SYS_ADMIN). Run as root for stacks.");
            }
            return patterns is null ? tasks : tasks.Where(t => patterns.Any(p => p.IsMatch(t.Command))).ToArray();
        }
        if (ParameterSetName != IntervalSet)
        {
            foreach (var t in Read()) WriteObject(t);
            return;
        }
        var tracker = new BlockedTaskTracker();
        Sample(i =>
        {
            foreach (var t in tracker.Add(Read()))
                if (t.SampleCount >= 2) WriteObject(t);
        });
    }
}
