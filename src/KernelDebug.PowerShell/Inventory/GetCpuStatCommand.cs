using System.Diagnostics;
using System.Management.Automation;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Procfs;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Inventory;

/// <summary>
/// <para type="synopsis">Gets CPU use from /proc/stat: percentages and rates over an interval, or the raw counters since boot.</para>
/// <para type="description">With -Interval, Get-CpuStat reads /proc/stat, waits the interval, reads it again and returns a CpuUsage record per interval: the percent of time spent in user, nice, system, idle, iowait, irq, softirq, steal and guest, BusyPercent, context switches, interrupts and forks per second, and the tasks running and blocked at the end. -Count repeats it (one record per interval, as vmstat 1 5 does), -PerCpu adds a record per CPU. Without -Interval it returns a CpuTimes record with the counters since boot (TimeSpans, plus the context switch, interrupt and fork totals). Those are averages over the whole uptime: a box that was idle for a week and is saturated now still shows mostly idle, which is why a diagnosis needs -Interval. Progress is shown while waiting; Ctrl+C stops cleanly and keeps the records written so far.</para>
/// </summary>
/// <example>
///   <code>Get-CpuStat -Interval 00:00:01 -Count 5</code>
///   <para>Shows CPU use for five one-second intervals, like vmstat 1 5.</para>
/// </example>
/// <example>
///   <code>Get-CpuStat -Interval 00:00:02 -PerCpu | Sort-Object BusyPercent -Descending | Select-Object -First 4</code>
///   <para>Finds the busiest CPUs over two seconds.</para>
/// </example>
/// <example>
///   <code>Get-CpuStat -PerCpu | Format-Table Cpu, User, System, Idle, IoWait</code>
///   <para>Shows the raw time each CPU has spent in each state since boot.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "CpuStat", DefaultParameterSetName = "SinceBoot")]
[OutputType(typeof(CpuTimes), ParameterSetName = ["SinceBoot"])]
[OutputType(typeof(CpuUsage), ParameterSetName = ["Interval"])]
public sealed class GetCpuStatCommand : KernelReaderCmdlet
{
    /// <summary>
    /// <para type="description">Measures over this interval and returns percentages and rates (e.g. 00:00:01). Without it, the raw counters since boot are returned.</para>
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Interval")]
    public TimeSpan Interval { get; set; }

    /// <summary>
    /// <para type="description">Number of intervals to measure (default 1); each produces a record (per CPU with -PerCpu).</para>
    /// </summary>
    [Parameter(ParameterSetName = "Interval")]
    [ValidateRange(1, int.MaxValue)]
    public int Count { get; set; } = 1;

    /// <summary>
    /// <para type="description">Adds a record for each CPU after the machine-wide one.</para>
    /// </summary>
    [Parameter]
    public SwitchParameter PerCpu { get; set; }

    /// <inheritdoc />
    protected override void Process()
    {
        var ctx = new ParseContext("stat");
        if (ParameterSetName != "Interval")
        {
            foreach (var t in CpuStatCalculator.SinceBoot(ProcStatReader.Read(KernelRoot, ctx), PerCpu)) WriteObject(t);
            WriteIssues(ctx);
            return;
        }
        if (Interval <= TimeSpan.Zero)
            ThrowTerminatingError(new ErrorRecord(new ArgumentOutOfRangeException(nameof(Interval), "The interval must be positive."),
                "InvalidInterval", ErrorCategory.InvalidArgument, Interval));
        var root = KernelRoot;
        bool perCpu = PerCpu;
        int count = Count;
        TimeSpan interval = Interval;
        Pump(async (writer, token) =>
        {
            var progress = new ProgressRecord(1, "Measuring CPU use", "reading /proc/stat");
            var before = ProcStatReader.Read(root, ctx);
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < count; i++)
            {
                var start = clock.Elapsed;
                var end = start + interval;
                while (clock.Elapsed < end)
                {
                    progress.StatusDescription = $"interval {i + 1} of {count}";
                    progress.PercentComplete = (int)Math.Clamp(100 * (clock.Elapsed - start).Ticks / Math.Max(1, interval.Ticks), 0, 100);
                    progress.SecondsRemaining = (int)Math.Ceiling((end - clock.Elapsed).TotalSeconds + (count - i - 1) * interval.TotalSeconds);
                    writer.TryWrite(progress);
                    var wait = end - clock.Elapsed;
                    if (wait > TimeSpan.Zero) await Task.Delay(wait < TimeSpan.FromMilliseconds(250) ? wait : TimeSpan.FromMilliseconds(250), token);
                }
                var after = ProcStatReader.Read(root, ctx);
                var elapsed = clock.Elapsed - start;
                foreach (var u in CpuStatCalculator.Between(before, after, elapsed, DateTimeOffset.Now, perCpu))
                    await writer.WriteAsync(u, token);
                foreach (var issue in ctx.Drain()) await writer.WriteAsync(issue, token);
                before = after;
            }
            writer.TryWrite(new ProgressRecord(1, "Measuring CPU use", "done") { RecordType = ProgressRecordType.Completed });
        });
    }
}
