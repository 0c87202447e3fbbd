using System.Management.Automation;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Procfs;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Inventory;

/// <summary>
/// <para type="synopsis">Gets pressure stall information (PSI): how much time tasks lost waiting for CPU, memory, I/O or interrupts, system-wide or for one cgroup.</para>
/// <para type="description">Get-PressureStall reads /proc/pressure/{cpu,memory,io,irq} (or a cgroup's *.pressure files) and returns one PressureStall record per resource: SomeAvg10, SomeAvg60, SomeAvg300 (percent of the last 10, 60 and 300 seconds in which at least one task was stalled), the Full values (all non-idle tasks stalled at once; the system-wide cpu line is always zero), and SomeTotal and FullTotal, the total stall time as a TimeSpan. -Resource picks resources; irq pressure exists only with CONFIG_IRQ_TIME_ACCOUNTING and is skipped quietly unless asked for. -Cgroup takes a path below the cgroup2 mount as /proc/PID/cgroup shows it. A kernel without PSI (CONFIG_PSI off, or psi=0) gives an error naming the option.</para>
/// </summary>
/// <example>
///   <code>Get-PressureStall</code>
///   <para>Shows the system-wide pressure of every resource.</para>
/// </example>
/// <example>
///   <code>Get-PressureStall -Resource memory, io -Cgroup /system.slice/postgresql.service</code>
///   <para>Shows whether one service is stalled on memory or I/O.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "PressureStall")]
[OutputType(typeof(PressureStall))]
public sealed class GetPressureStallCommand : KernelReaderCmdlet
{
    /// <summary>
    /// <para type="description">The resources to read: cpu, memory, io, irq. All that the kernel reports when omitted.</para>
    /// </summary>
    [Parameter(Position = 0)]
    [ValidateSet("cpu", "memory", "io", "irq", IgnoreCase = true)]
    public string[]? Resource { get; set; }

    /// <summary>
    /// <para type="description">A cgroup path below the cgroup2 mount (e.g. /system.slice/ssh.service), or an absolute path into /sys/fs/cgroup. System-wide when omitted.</para>
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? Cgroup { get; set; }

    /// <inheritdoc />
    protected override void Process()
    {
        var ctx = new ParseContext("pressure");
        foreach (var p in PressureStallParser.Read(KernelRoot, Resource, Cgroup, ctx, WriteKernelError)) WriteObject(p);
        WriteIssues(ctx);
    }
}
