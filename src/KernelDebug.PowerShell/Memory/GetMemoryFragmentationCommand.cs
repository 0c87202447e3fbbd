using System.Management.Automation;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Procfs;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Memory;

/// <summary>
/// <para type="synopsis">Gets free memory per zone by block size (/proc/buddyinfo) and how fragmented it is for allocations of a given order.</para>
/// <para type="description">Get-MemoryFragmentation reads /proc/buddyinfo and returns one record per node and zone: the free blocks of each order, free memory, the largest free block, how many blocks of the requested order (-Order, default 9: 2 MiB huge pages with 4 KiB pages) the zone could serve now, and the kernel's two fragmentation indexes computed as mm/vmstat.c does for debugfs extfrag: FragmentationPercent (the share of free memory in pieces too small for the order) and ExternalFragmentationIndex (toward 1 an allocation would fail for fragmentation rather than for lack of memory). High fragmentation with plenty of free memory is why huge-page and high-order allocations stall in compaction (see Get-VmStat CompactionStalls). -Root reads a snapshot.</para>
/// </summary>
/// <example>
///   <code>Get-MemoryFragmentation</code>
///   <para>Free memory and fragmentation for 2 MiB allocations in every zone.</para>
/// </example>
/// <example>
///   <code>Get-MemoryFragmentation -Order 3 -Zone Normal | Select-Object Node, FreeBytes, SuitableBlocks, FragmentationPercent</code>
///   <para>How well the Normal zones can serve order-3 (32 KiB) allocations, as network drivers and SLUB make.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "MemoryFragmentation")]
[OutputType(typeof(MemoryFragmentation))]
public sealed class GetMemoryFragmentationCommand : KernelReaderCmdlet
{
    /// <summary>
    /// <para type="description">The allocation order the indexes are computed for: 0 is one page, 9 (the default) is 2 MiB with 4 KiB pages.</para>
    /// </summary>
    [Parameter(Position = 0)]
    [ValidateRange(0, 20)]
    public int Order { get; set; } = 9;

    /// <summary>
    /// <para type="description">Zones to keep (DMA, DMA32, Normal, Movable); wildcards allowed.</para>
    /// </summary>
    [Parameter]
    [SupportsWildcards]
    public string[]? Zone { get; set; }

    /// <summary>
    /// <para type="description">NUMA nodes to keep.</para>
    /// </summary>
    [Parameter]
    public int[]? Node { get; set; }

    /// <inheritdoc />
    protected override void Process()
    {
        const string path = "proc/buddyinfo";
        var ctx = new ParseContext(KernelRoot.Resolve(path));
        var zones = BuddyInfoParser.Parse(KernelRoot.ReadText(path, "procfs (mount -t proc proc /proc)"), ctx);
        WriteIssues(ctx);
        var patterns = Zone?.Select(z => WildcardPattern.Get(z, WildcardOptions.IgnoreCase)).ToArray();
        int pageSize = KernelRoot.PageSize;
        foreach (var z in zones)
        {
            if (patterns is not null && !patterns.Any(p => p.IsMatch(z.Zone))) continue;
            if (Node is not null && !Node.Contains(z.Node)) continue;
            WriteObject(MemoryFragmentation.From(z, Order, pageSize));
        }
    }
}
