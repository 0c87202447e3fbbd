using KernelDebug.Core;
using KernelDebug.Core.Bpf;
using KernelDebug.Core.Bpf.Tools;
using KernelDebug.Core.Symbols;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests.Bpf;

/// <summary>
/// Oracle tests: UDP datagrams this process sends to a closed port on 127.0.0.1 are each freed by __udp4_lib_rcv as a
/// drop with reason NO_SOCKET; the meter must count exactly those, with their bytes, in that one group.
/// </summary>
[Collection(LiveBpf.Name)]
public class PacketDropLiveTests
{
    private static readonly SkbDropReasons Reasons = SkbDropReasons.Load(KernelRoot.Live);

    private static IReadOnlyList<PacketDrop> Measure(PacketDropOptions options, Action load) =>
        LiveBpf.Measure(PacketDropMeter.Start(KernelRoot.Live, options), load);

    private static bool IsUdpNoSocket(PacketDrop d) =>
        d.Reason == "NO_SOCKET" && d.Protocol == "IPv4" && d.Function == "__udp4_lib_rcv";

    private static string Dump(IEnumerable<PacketDrop> records) =>
        string.Join("\n", records.Take(15).Select(r => $"{r.Reason}({r.ReasonCode}) {r.Protocol} {r.Symbol} n={r.Count} bytes={r.Bytes}"));

    [Fact]
    public void UdpToClosedPort_GivesExactlyNDrops_NoSocketAtUdp4Rcv()
    {
        const int n = 500, payload = 100;
        var records = Measure(new PacketDropOptions(), () => ClosedUdpPort.Send(n, payload));
        var udp = records.Where(IsUdpNoSocket).ToList();
        var d = Assert.Single(udp);
        Assert.Equal((ulong)n, d.Count);
        Assert.Equal((long)n * (payload + ClosedUdpPort.UdpHeader), d.Bytes);
        Assert.Equal(Reasons.All.Single(r => r.Name == "NO_SOCKET").Code, d.ReasonCode);
        Assert.Equal((ushort)0x0800, d.ProtocolNumber);
        Assert.StartsWith("__udp4_lib_rcv+0x", d.Symbol);
        Assert.Equal($"0x{d.Location:x}", d.LocationHex);
        Assert.True(d.PerSecond > 0);
        Assert.True(d.EndTime > d.StartTime);
    }

    [Fact]
    public void WithoutSending_TheUdpGroupIsEmpty()
    {
        // The other half of the oracle: the count above is ours, not the machine's background.
        var records = Measure(new PacketDropOptions(), () => Thread.Sleep(300));
        Assert.DoesNotContain(records, IsUdpNoSocket);
    }

    [Fact]
    public void ReasonFilter_InTheKernel_KeepsOnlyThatReason()
    {
        var noSocket = Reasons.Select([("NO_SOCKET", s => s == "NO_SOCKET")]);
        var records = Measure(new PacketDropOptions { ReasonCodes = noSocket, GroupBy = [PacketDropGrouping.Reason, PacketDropGrouping.Protocol] },
            () => ClosedUdpPort.Send(200));
        Assert.All(records, r => Assert.Equal("NO_SOCKET", r.Reason));
        Assert.True(records.Single(r => r.Protocol == "IPv4").Count >= 200, Dump(records));
        Assert.All(records, r => Assert.Null(r.Location));

        // A filter for another reason sees none of our datagrams.
        var other = Reasons.Select([("NETFILTER_DROP", s => s == "NETFILTER_DROP")]);
        var none = Measure(new PacketDropOptions { ReasonCodes = other }, () => ClosedUdpPort.Send(200));
        Assert.DoesNotContain(none, r => r.Reason == "NO_SOCKET");
    }

    [Fact]
    public void GroupByInterface_NamesLoopback()
    {
        var records = Measure(new PacketDropOptions { GroupBy = [PacketDropGrouping.Reason, PacketDropGrouping.Interface] }, () => ClosedUdpPort.Send(50));
        var lo = records.Where(r => r.Reason == "NO_SOCKET" && r.Interface == "lo").ToList();
        Assert.True(lo.Count == 1 && lo[0].Count >= 50, Dump(records));
        Assert.Equal("*", lo[0].Protocol);
        Assert.Null(lo[0].Symbol);
    }

    [Fact]
    public void Interval_SplitsWithoutLoss()
    {
        var meter = PacketDropMeter.Start(KernelRoot.Live, new PacketDropOptions());
        var ids = meter.Session.ProgramIds;
        try
        {
            ClosedUdpPort.Send(30);
            var first = meter.CollectInterval();
            ClosedUdpPort.Send(20);
            var rest = meter.Finish();
            Assert.Equal(30UL, first.Single(IsUdpNoSocket).Count);
            Assert.Equal(20UL, rest.Single(IsUdpNoSocket).Count);
            Assert.True(rest[0].StartTime >= first[0].EndTime);
        }
        finally
        {
            meter.Dispose();
            SyscallLatencyLiveTests.AssertNoProgramLeft(ids);
        }
    }

    [Fact]
    public void BothAttachMethods_Count()
    {
        foreach (var method in new[] { BpfAttachMethod.RawTp, BpfAttachMethod.TpBtf })
        {
            var meter = PacketDropMeter.Start(KernelRoot.Live, new PacketDropOptions { AttachMethods = [method] });
            Assert.Equal(method, meter.AttachMethod);
            var records = LiveBpf.Measure(meter, () => ClosedUdpPort.Send(40));
            Assert.Equal(40UL, records.Single(IsUdpNoSocket).Count);
        }
    }

    [Fact]
    public void ReasonCodeAbove511_IsInvalidArgument()
    {
        var e = Assert.Throws<KernelDebug.Core.Errors.KernelDebugException>(() =>
            PacketDropMeter.Start(KernelRoot.Live, new PacketDropOptions { ReasonCodes = [0x10001] }));
        Assert.Equal("DropReasonOutOfRange", e.ErrorId);
    }

    [Fact]
    public void MissingTracepoint_IsNamed()
    {
        // A root whose tracefs lists events but not skb:kfree_skb (a kernel without CONFIG_NET's tracepoints).
        using var tree = FixtureTree.Create();
        tree.File("sys/kernel/tracing/events/sched/sched_switch/format", "name: sched_switch\n");
        tree.File("sys/kernel/btf/vmlinux", "");
        var e = Assert.Throws<KernelDebug.Core.Errors.KernelDebugException>(() => PacketDropMeter.Start(tree.Root, new PacketDropOptions()));
        Assert.Equal("BpfTracepointMissing", e.ErrorId);
        Assert.Contains("skb:kfree_skb", e.Message);
    }
}
