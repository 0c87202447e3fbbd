using System.Management.Automation;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Procfs;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Inventory;

/// <summary>
/// <para type="synopsis">Gets the 1, 5 and 15-minute load averages, also divided by the number of CPUs, with running and total task counts.</para>
/// <para type="description">Get-LoadAverage reads /proc/loadavg and returns one LoadAverage record: Load1, Load5 and Load15 (the average number of runnable plus uninterruptible tasks), the same divided by the online CPU count (Load1PerCpu etc.; above 1 means more work than CPUs, and on Linux tasks in D state count too, so high load with idle CPUs points at blocked I/O), Running and Total tasks, and LastPid, the most recently assigned process id. With -Root it reads a snapshot.</para>
/// </summary>
/// <example>
///   <code>Get-LoadAverage</code>
///   <para>Shows the load averages and their per-CPU values.</para>
/// </example>
/// <example>
///   <code>if ((Get-LoadAverage).Load5PerCpu -gt 2) { Get-CpuStat -Interval 00:00:05 }</code>
///   <para>Looks at where CPU time goes when the box is overloaded.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "LoadAverage")]
[OutputType(typeof(LoadAverage))]
public sealed class GetLoadAverageCommand : KernelReaderCmdlet
{
    /// <inheritdoc />
    protected override void Process()
    {
        var ctx = new ParseContext("loadavg");
        WriteObject(LoadAverageParser.Read(KernelRoot, ctx));
        WriteIssues(ctx);
    }
}
