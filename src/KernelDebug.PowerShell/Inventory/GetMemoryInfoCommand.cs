using System.Management.Automation;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Procfs;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Inventory;

/// <summary>
/// <para type="synopsis">Gets the kernel's memory counters from /proc/meminfo in bytes, with used memory computed as free does.</para>
/// <para type="description">Get-MemoryInfo reads /proc/meminfo and returns one MemoryInfo record with every counter in bytes: MemTotal, MemFree, MemAvailable, Buffers, Cached, swap, dirty and writeback, anonymous and mapped memory, Shmem, the slab split into SlabReclaimable and SlabUnreclaimable, kernel stacks, page tables, commit, and the huge page pool (HugePagesTotal/Free/Reserved/Surplus are page counts, HugePageSize is bytes). Used is MemTotal − MemAvailable and UsedPercent its share of MemTotal, the way free computes "used". Values holds every line of the file, including ones without a property. -Node returns one record per NUMA node from /sys/devices/system/node/nodeN/meminfo instead; node files have no MemAvailable, so there Used is MemTotal − MemFree − FilePages − SReclaimable. With -Root it reads a snapshot.</para>
/// </summary>
/// <example>
///   <code>Get-MemoryInfo | Select-Object MemTotal, MemAvailable, Used, UsedPercent, SlabUnreclaimable</code>
///   <para>Shows how much memory is in use and how much of it is unreclaimable slab.</para>
/// </example>
/// <example>
///   <code>Get-MemoryInfo -Node | Format-Table Node, MemTotal, MemFree, UsedPercent</code>
///   <para>Compares the NUMA nodes.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "MemoryInfo")]
[OutputType(typeof(MemoryInfo))]
public sealed class GetMemoryInfoCommand : KernelReaderCmdlet
{
    /// <summary>
    /// <para type="description">Returns one record per NUMA node (from /sys/devices/system/node) instead of the machine total.</para>
    /// </summary>
    [Parameter]
    public SwitchParameter Node { get; set; }

    /// <inheritdoc />
    protected override void Process()
    {
        var ctx = new ParseContext("meminfo");
        if (Node) foreach (var m in MemInfoReader.ReadNodes(KernelRoot, ctx)) WriteObject(m);
        else WriteObject(MemInfoReader.Read(KernelRoot, ctx));
        WriteIssues(ctx);
    }
}
