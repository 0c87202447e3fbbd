using KernelDebug.Core;
using KernelDebug.Core.Bpf;
using KernelDebug.Core.Bpf.Tools;
using KernelDebug.Core.Sysfs;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests.Bpf;

/// <summary>Oracle tests: known O_DIRECT I/O on a private loop device, counted by the block tracepoint programs.</summary>
[Collection(LiveBpf.Name)]
public class BlockIoLatencyLiveTests
{
    private static void SkipWithoutLoop()
    {
        if (LoopDevice.WhyUnavailable() is { } why) Assert.Skip(why);
    }

    private static IReadOnlyList<BlockIoLatency> Measure(BlockIoLatencyOptions options, Action load) =>
        LiveBpf.Measure(BlockIoLatencyMeter.Start(KernelRoot.Live, options), load);

    [Fact]
    public void DirectWrites_OnLoopDevice_CountAndBytesMatch()
    {
        SkipWithoutLoop();
        const int n = 120, size = 64 * 1024;
        using var loop = LoopDevice.Create();
        var records = Measure(new BlockIoLatencyOptions { Disks = [loop.Name], ByDisk = true, ByOperation = true }, () => loop.WriteDirect(n, size));
        var w = Assert.Single(records, r => r.Operation == "Write");
        Assert.Equal(loop.Name, w.Disk);
        Assert.Equal(BlockIoPhase.Device, w.Phase);
        Assert.Equal((ulong)n, w.Count);
        Assert.Equal((long)n * size, w.Bytes);
        Assert.Equal(0UL, w.Errors);
        Assert.True(w.Min <= w.P50 && w.P50 <= w.P99 && w.P99 <= w.Max);
        Assert.True(w.Iops > 0 && w.Throughput > 0);
        Assert.Equal((ulong)n, w.Histogram.Count);
        Assert.All(records, r => Assert.Equal(loop.Name, r.Disk));   // the disk filter holds
    }

    [Fact]
    public void ReadsAndWrites_ByOperation_AreSeparate()
    {
        SkipWithoutLoop();
        using var loop = LoopDevice.Create();
        var records = Measure(new BlockIoLatencyOptions { Disks = [loop.Name], ByOperation = true }, () =>
        {
            loop.WriteDirect(40, 4096);
            loop.ReadDirect(25, 8192);
        });
        Assert.Equal("*", Assert.Single(records, r => r.Operation == "Write").Disk);
        Assert.Equal(40UL, records.Single(r => r.Operation == "Write").Count);
        var read = records.Single(r => r.Operation == "Read");
        Assert.True(read.Count >= 25, $"reads: {read.Count}");   // udev may probe the new device too
        Assert.True(read.Bytes >= 25 * 8192);
    }

    [Fact]
    public void Queued_AddsQueueRecords()
    {
        SkipWithoutLoop();
        using var loop = LoopDevice.Create();
        var records = Measure(new BlockIoLatencyOptions { Disks = [loop.Name], Queued = true }, () => loop.WriteDirect(50, 4096));
        var device = Assert.Single(records, r => r.Phase == BlockIoPhase.Device);
        Assert.Equal(50UL, device.Count);
        // Requests issued directly (no scheduler) skip insert: the queue record may count fewer.
        foreach (var q in records.Where(r => r.Phase == BlockIoPhase.Queue))
        {
            Assert.InRange(q.Count, 1UL, 50UL);
            Assert.Equal(0, q.Bytes);
        }
    }

    [Fact]
    public void Interval_SplitsWithoutLoss()
    {
        SkipWithoutLoop();
        using var loop = LoopDevice.Create();
        var meter = BlockIoLatencyMeter.Start(KernelRoot.Live, new BlockIoLatencyOptions { Disks = [loop.Name], ByOperation = true });
        try
        {
            loop.WriteDirect(30, 4096);
            var first = meter.CollectInterval();
            loop.WriteDirect(20, 4096);
            var rest = meter.Finish();
            Assert.Equal(30UL, first.Single(r => r.Operation == "Write").Count);
            Assert.Equal(20UL, rest.Single(r => r.Operation == "Write").Count);
            Assert.True(rest[0].StartTime >= first[0].EndTime);
        }
        finally
        {
            var ids = meter.Session.ProgramIds;
            meter.Dispose();
            SyscallLatencyLiveTests.AssertNoProgramLeft(ids);
        }
    }

    [Fact]
    public void UnknownDisk_IsObjectNotFound()
    {
        var e = Assert.Throws<KernelDebug.Core.Errors.KernelDebugException>(() =>
            BlockIoLatencyMeter.Start(KernelRoot.Live, new BlockIoLatencyOptions { Disks = ["no-such-disk"] }));
        Assert.Equal("DiskNotFound", e.ErrorId);
    }

    [Fact]
    public void BlockDevices_ReadsFixtureTree()
    {
        using var tree = FixtureTree.Create();
        tree.File("sys/block/sda/dev", "8:0\n");
        tree.File("sys/block/nvme0n1/dev", "259:0\n");
        tree.File("sys/block/broken/dev", "garbage\n");
        var disks = BlockDevices.ReadDisks(tree.Root);
        Assert.Equal(["nvme0n1", "sda"], disks.Select(d => d.Name));
        Assert.Equal((8u << 20) | 0, disks.Single(d => d.Name == "sda").KernelDev);
        Assert.Equal("sda", BlockDevices.NameOf(disks, 8u << 20));
        Assert.Equal("9:3", BlockDevices.NameOf(disks, (9u << 20) | 3));
    }

    [Theory]
    [InlineData(0u, "Read")]
    [InlineData(1u, "Write")]
    [InlineData(2u, "Flush")]
    [InlineData(3u, "Discard")]
    [InlineData(9u, "WriteZeroes")]
    [InlineData(200u, "Op200")]
    public void OperationName_FollowsReqOp(uint op, string name) => Assert.Equal(name, BlockIoLatencyMeter.OperationName(op));
}
