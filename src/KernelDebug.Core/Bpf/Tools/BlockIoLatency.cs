namespace KernelDebug.Core.Bpf.Tools;

/// <summary>Which part of a block request's life a <see cref="BlockIoLatency"/> measures.</summary>
public enum BlockIoPhase
{
    /// <summary>Issue to the driver → completion: time on the device (driver and hardware).</summary>
    Device,
    /// <summary>Insert into the queue / I/O scheduler → issue to the driver (only with -Queued).</summary>
    Queue,
}

/// <summary>
/// Block I/O latency of one disk and operation (each "*" when not grouped) over one interval, measured in the kernel
/// by Measure-BlockIoLatency from the block_rq tracepoints: requests, bytes, rates, exact min/mean/max and
/// interpolated percentiles from a log-linear histogram.
/// </summary>
public sealed record BlockIoLatency : BpfDistribution
{
    /// <summary>Disk name (sda, nvme0n1, loop3), or "*" when not grouped by disk.</summary>
    public string Disk { get; init; } = "*";
    /// <summary>Operation (Read, Write, Flush, Discard, SecureErase, WriteZeroes, Zone*, Drv*), or "*" when not grouped by operation.</summary>
    public string Operation { get; init; } = "*";
    /// <summary>Device (issue → complete) or Queue (insert → issue).</summary>
    public BlockIoPhase Phase { get; init; }
    /// <summary>Requests completed with an error status.</summary>
    public ulong Errors { get; init; }
    /// <summary>Bytes completed (Device phase; 0 for Queue).</summary>
    public long Bytes { get; init; }
    /// <summary>Requests per second over the interval.</summary>
    public double Iops { get; init; }
    /// <summary>Bytes per second over the interval.</summary>
    public double Throughput { get; init; }
    /// <summary>Completions seen without their issue during the interval (requests in flight at attach; all disks).</summary>
    public ulong MissedIssues { get; init; }
}

/// <summary>What Measure-BlockIoLatency measures.</summary>
public sealed record BlockIoLatencyOptions : Engine.BpfToolOptions
{
    /// <summary>Only these disks (names from /sys/block); empty = all. At most 8.</summary>
    public IReadOnlyList<string> Disks { get; init; } = Array.Empty<string>();
    /// <summary>A record per disk.</summary>
    public bool ByDisk { get; init; }
    /// <summary>A record per operation.</summary>
    public bool ByOperation { get; init; }
    /// <summary>Also measure queue time (insert → issue) as separate Queue records.</summary>
    public bool Queued { get; init; }
}
