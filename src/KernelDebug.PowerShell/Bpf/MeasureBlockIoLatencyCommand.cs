using System.Management.Automation;
using KernelDebug.Core;
using KernelDebug.Core.Bpf.Tools;

namespace KernelDebug.PowerShell.Bpf;

/// <summary>
/// <para type="synopsis">Measures block I/O latency in the kernel with eBPF, per disk and per operation: requests, bytes, IOPS, throughput, min, mean, P50, P90, P99, max and a latency histogram.</para>
/// <para type="description">Measure-BlockIoLatency loads a small precompiled CO-RE BPF program (kd_bio_*) on the block_rq_issue and block_rq_complete tracepoints: each request's issue to the driver is paired with its completion in the kernel, and the latency goes into a log-linear histogram, like libbpf-tools' biolatency. It attaches with raw_tp where the kernel has it, else tp_btf, and says which in AttachMethod. -ByDisk and -ByOperation (Read, Write, Flush, Discard ...) split the records; -Disk measures only the named disks (filtered in the kernel; partitions count toward their disk); -Queued also attaches block_rq_insert and writes Queue records for the time requests waited in the queue or I/O scheduler before issue (requests the block layer issues directly skip insert and have no queue time). It measures for -Duration, or until Ctrl+C in an interactive console (the result is still written), and with -Interval writes a result per interval without losing requests between intervals. OverheadPerEvent reports the BPF program cost per block event, MissedIssues the completions of requests already in flight at attach. Every program, map and link is removed on completion, on error and on Ctrl+C. Needs root, or CAP_BPF and CAP_PERFMON, and a kernel with BTF (CONFIG_DEBUG_INFO_BTF).</para>
/// </summary>
/// <example>
///   <code>Measure-BlockIoLatency -Duration 0:0:10 -ByDisk -ByOperation</code>
///   <para>Ten seconds of block I/O, one record per disk and operation, with IOPS, throughput and percentiles.</para>
/// </example>
/// <example>
///   <code>Measure-BlockIoLatency -Disk nvme0n1 -Interval 0:0:1 -Duration 0:1:0 | Where-Object P99 -gt ([timespan]::FromMilliseconds(10))</code>
///   <para>Every second for a minute, the intervals in which nvme0n1's 99th percentile exceeded 10 ms.</para>
/// </example>
/// <example>
///   <code>Measure-BlockIoLatency -Disk sda -Queued -Duration 0:0:5 | Format-Histogram</code>
///   <para>Queue time beside device time for sda, printed as histograms like biolatency -Q.</para>
/// </example>
[Cmdlet(VerbsDiagnostic.Measure, "BlockIoLatency")]
[OutputType(typeof(BlockIoLatency))]
public sealed class MeasureBlockIoLatencyCommand : BpfMeasureCmdlet
{
    /// <summary>
    /// <para type="description">Only these disks: whole-disk names from /sys/block (tab completion lists them); at most 8. Filtered in the kernel; implies nothing about grouping (add -ByDisk for one record per disk).</para>
    /// </summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(DiskNameCompleter))]
    public string[]? Disk { get; set; }

    /// <summary>
    /// <para type="description">One record per disk.</para>
    /// </summary>
    [Parameter]
    public SwitchParameter ByDisk { get; set; }

    /// <summary>
    /// <para type="description">One record per operation: Read, Write, Flush, Discard, SecureErase, WriteZeroes, Zone*.</para>
    /// </summary>
    [Parameter]
    public SwitchParameter ByOperation { get; set; }

    /// <summary>
    /// <para type="description">Also measures queue time (block_rq_insert to block_rq_issue), written as records with Phase Queue beside the Device records.</para>
    /// </summary>
    [Parameter]
    public SwitchParameter Queued { get; set; }

    private readonly List<string> _disks = new();

    /// <inheritdoc />
    protected override string Activity => "Measuring block I/O latency";

    /// <inheritdoc />
    protected override void Process()
    {
        if (Disk is not null) _disks.AddRange(Disk);
    }

    /// <inheritdoc />
    protected override IBpfMeter<object> StartMeter(Action<string> verbose) =>
        BlockIoLatencyMeter.Start(KernelRoot.Live, new BlockIoLatencyOptions
        {
            Disks = _disks.Distinct().ToArray(),
            Filter = Filter(),
            ByDisk = ByDisk,
            ByOperation = ByOperation,
            Queued = Queued,
            ProgramStatistics = !NoProgramStatistics,
        }, verbose);
}
