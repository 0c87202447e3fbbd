using KernelDebug.Core;
using KernelDebug.Core.Bpf.Tools;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Symbols;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests.Bpf;

/// <summary>Drop reason names from BTF, from a captured kfree_skb format, and the protocol names of Measure-PacketDrop.</summary>
public class SkbDropReasonsTests
{
    [Fact]
    public void LiveBtf_NamesTheEnum_WithoutPrefixes()
    {
        if (!File.Exists("/sys/kernel/btf/vmlinux")) Assert.Skip("no /sys/kernel/btf/vmlinux on this kernel");
        var r = SkbDropReasons.Load(KernelRoot.Live);
        Assert.Equal("btf", r.Source);
        // 6.18 numbers these so (include/net/dropreason-core.h); the names are what matters across versions.
        Assert.Equal("NOT_DROPPED_YET", r.Name(0));
        Assert.Equal("CONSUMED", r.Name(1));
        Assert.Equal("NOT_SPECIFIED", r.Name(2));
        Assert.Contains(r.All, x => x.Name == "NO_SOCKET");
        Assert.DoesNotContain(r.All, x => x.Name is "MAX" or "SUBSYS_MASK" || x.Name.StartsWith(SkbDropReasons.Prefix, StringComparison.Ordinal));
        Assert.Contains(r.All, x => x.Name == "SKB_CSUM");   // SKB_DROP_REASON_SKB_CSUM: only the enum's prefix goes
        Assert.True(r.All.Count > 100, $"{r.All.Count} reasons");
    }

    [Fact]
    public void TracefsFormat_IsTheFallback_WithTheSameCodes()
    {
        var fixture = FixtureTree.Open("bpf", "pktdrop-6.18");
        var r = SkbDropReasons.Load(fixture);
        Assert.Equal("tracefs", r.Source);
        Assert.Equal(128, r.All.Count);   // 2 .. 129; 0, 1 are not printed, MAX is no reason
        Assert.Equal("NO_SOCKET", r.Name(3));
        Assert.Contains(r.All, x => x.Name == "SKB_CSUM");
        Assert.Equal("Reason1", r.Name(1));
        if (File.Exists("/sys/kernel/btf/vmlinux") && File.ReadAllText("/proc/sys/kernel/osrelease").StartsWith("6.18", StringComparison.Ordinal))
        {
            var btf = SkbDropReasons.Load(KernelRoot.Live);
            Assert.All(r.All, x => Assert.Equal(btf.Name(x.Code), x.Name));
        }
    }

    [Fact]
    public void NoBtfNoTracefs_NamesByCode()
    {
        using var tree = FixtureTree.Create();
        var r = SkbDropReasons.Load(tree.Root);
        Assert.Equal("none", r.Source);
        Assert.Equal("Reason3", r.Name(3));
        Assert.Equal("Reason65537", r.Name(0x10001));
    }

    [Fact]
    public void ParsePrintSymbolic_ReadsOnlyTheFieldsPairs()
    {
        const string fmt = "\"a=%s b=%s\", __print_symbolic(REC->other, { 1, \"X\" }), __print_symbolic(REC->reason, { 2, \"NOT_SPECIFIED\" }, { 0x3, \"NO_SOCKET\" },{ 130, \"MAX\" }), { 9, \"AFTER\" }";
        var pairs = SkbDropReasons.ParsePrintSymbolic(fmt, "reason");
        Assert.Equal([("NOT_SPECIFIED", 2L), ("NO_SOCKET", 3L), ("MAX", 130L)], pairs);
        Assert.Empty(SkbDropReasons.ParsePrintSymbolic("\"x\", REC->reason", "reason"));
        for (int seed = 1; seed < 20; seed++) SkbDropReasons.ParsePrintSymbolic(Mangle.Garbage(fmt, seed), "reason");
    }

    [Fact]
    public void Select_ByWildcardFullNameOrNumber_AndUnknownIsInvalidArgument()
    {
        var r = SkbDropReasons.FromMembers([("SKB_NOT_DROPPED_YET", 0), ("SKB_CONSUMED", 1), ("SKB_DROP_REASON_NO_SOCKET", 3), ("SKB_DROP_REASON_TCP_CSUM", 10),
            ("SKB_DROP_REASON_UDP_CSUM", 11), ("SKB_DROP_REASON_MAX", 12), ("SKB_DROP_REASON_SUBSYS_MASK", 0xffff0000)]);
        Assert.Equal(["NOT_DROPPED_YET", "CONSUMED", "NO_SOCKET", "TCP_CSUM", "UDP_CSUM"], r.All.Select(x => x.Name));
        Func<string, bool> Like(string p) => s => new System.Text.RegularExpressions.Regex("^" + p.Replace("*", ".*") + "$").IsMatch(s);
        Assert.Equal([10u, 11u], r.Select([("*_CSUM", Like("*_CSUM"))]));
        Assert.Equal([3u], r.Select([("SKB_DROP_REASON_NO_SOCKET", Like("SKB_DROP_REASON_NO_SOCKET"))]));
        Assert.Equal([3u, 77u], r.Select([("77", Like("77")), ("NO_SOCKET", Like("NO_SOCKET"))]));
        var e = Assert.Throws<KernelDebugException>(() => r.Select([("NO_SUCH", Like("NO_SUCH"))]));
        Assert.Equal("UnknownDropReason", e.ErrorId);
        Assert.Equal(KernelErrorCategory.InvalidArgument, e.Category);
    }

    [Theory]
    [InlineData(0x0800, "IPv4")]
    [InlineData(0x86DD, "IPv6")]
    [InlineData(0x0806, "ARP")]
    [InlineData(0x0000, "None")]
    [InlineData(0x1234, "0x1234")]
    public void ProtocolName_FromEthP(int protocol, string name) => Assert.Equal(name, PacketDrop.ProtocolName((ushort)protocol));

    [Fact]
    public void ReadInterfaces_FromSysClassNet()
    {
        using var tree = FixtureTree.Create();
        tree.File("sys/class/net/lo/ifindex", "1\n");
        tree.File("sys/class/net/eth0/ifindex", "2\n");
        tree.File("sys/class/net/bad/ifindex", "x\n");
        var names = PacketDropMeter.ReadInterfaces(tree.Root);
        Assert.Equal(2, names.Count);
        Assert.Equal("lo", names[1]);
        Assert.Equal("eth0", names[2]);
    }
}
