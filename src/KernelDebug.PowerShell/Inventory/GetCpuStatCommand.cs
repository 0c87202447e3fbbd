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
    /// <para type="description">Time between samples: seconds as a number (5) or a time span (00:00:05). Alone it takes one sample (as Get-Counter does); with -Count N, N samples; with -Continuous, until Ctrl+C.</para>
    /// </summary>
    [Parameter(Position = 0, ParameterSetName = "Interval")]
    [DurationTransformation]
    public TimeSpan Interval { get; set; }

    /// <summary>
    /// <para type="description">Number of samples to take (1 s apart unless -Interval says otherwise).</para>
    /// </summary>
    [Parameter(ParameterSetName = "Interval")]
    [ValidateRange(1, int.MaxValue)]
    public int Count { get; set; }

    /// <summary>
    /// <para type="description">Samples until Ctrl+C (1 s apart unless -Interval says otherwise).</para>
    /// </summary>
    [Parameter(ParameterSetName = "Interval")]
    public SwitchParameter Continuous { get; set; }

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
        var plan = Sampler.Plan(this, Interval, Count, Continuous)!;
        ProcStatSample? before = null;
        var clock = Stopwatch.StartNew();
        TimeSpan last = TimeSpan.Zero;
        Sampler.Run(this, StopToken, plan, "Get-CpuStat", _ =>
        {
            var after = ProcStatReader.Read(KernelRoot, ctx);
            var now = clock.Elapsed;
            WriteIssues(ctx);
            if (before is not null)
                foreach (var u in CpuStatCalculator.Between(before, after, now - last, DateTimeOffset.Now, PerCpu)) WriteObject(u);
            before = after;
            last = now;
        });
    }
}
