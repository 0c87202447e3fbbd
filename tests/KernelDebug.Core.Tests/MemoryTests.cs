using KernelDebug.Core;
using KernelDebug.Core.Memory;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Procfs;
using KernelDebug.Core.Sysfs;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests;

public class SlabInfoTests
{
    private static string FixtureText => File.ReadAllText(TestPaths.Fixture("memory", "slab", "proc", "slabinfo"));

    [Fact]
    public void Fixture_ComputesSizesAsSlabtopDoes()
    {
        var ctx = new ParseContext("slabinfo");
        var caches = SlabInfoParser.Parse(FixtureText, 4096, ctx);
        Assert.Empty(ctx.Issues);
        int expected = FixtureText.Split('\n').Count(l => l.Length > 0 && !l.StartsWith('#') && !l.StartsWith("slabinfo"));
        Assert.Equal(expected, caches.Count);
        foreach (var c in caches)
        {
            Assert.Equal(c.Slabs * c.PagesPerSlab * 4096L, c.TotalBytes);
            Assert.Equal(c.ActiveObjects * c.ObjectSize, c.ActiveBytes);
            Assert.InRange(c.UsedPercent, 0, 100);
        }
        var sock = caches.Single(c => c.Name == "sock_inode_cache");
        Assert.Equal(832, sock.ObjectSize);
        Assert.Equal(19, sock.ObjectsPerSlab);
        Assert.Equal(4, sock.PagesPerSlab);
        Assert.Equal(0, caches.Single(c => c.Name == "btrfs_delayed_node").UsedPercent);
    }

    [Fact]
    public void Fixture_JoinsSysfsAliasesAndFlags()
    {
        var root = FixtureTree.Open("memory", "slab");
        var ctx = new ParseContext("slab");
        var caches = SlabReader.Read(root, SlabDetail.Full, ctx);
        Assert.Empty(ctx.Issues);
        var signal = caches.Single(c => c.Name == "signal_cache");
        Assert.Equal(new[] { "UNIX", "UNIX-STREAM" }, signal.Aliases.Order());
        var dentry = caches.Single(c => c.Name == "dentry");
        Assert.True(dentry.Reclaimable);
        Assert.Contains("SLAB_RECLAIM_ACCOUNT", dentry.Flags);
        Assert.Equal(long.Parse(File.ReadAllText(TestPaths.Fixture("memory", "slab", "sys", "kernel", "slab", "dentry", "object_size"))), dentry.RequestedObjectSize);
        Assert.NotNull(dentry.SlabOrder);
        var kmalloc = caches.Single(c => c.Name == "kmalloc-64");
        Assert.Null(kmalloc.Reclaimable); // no sysfs directory in the fixture
        Assert.Empty(kmalloc.Aliases);
    }

    [Fact]
    public void Summary_UsesMeminfoSlabLines()
    {
        var s = SlabReader.ReadSummary(FixtureTree.Open("memory", "slab"), new ParseContext("slab"));
        Assert.Equal(82964L * 1024, s.ReclaimableBytes);
        Assert.Equal(25668L * 1024, s.UnreclaimableBytes);
        Assert.Equal("ext4_inode_cache", s.LargestCache);
        Assert.True(s.ActiveCacheCount < s.CacheCount);
    }

    [Fact]
    public void Growth_ReportsChangedCachesLargestFirst()
    {
        var t0 = DateTimeOffset.UnixEpoch;
        SlabCache C(string n, long active, long slabs, DateTimeOffset t) => new() { Name = n, ActiveObjects = active, TotalObjects = active, Slabs = slabs, TotalBytes = slabs * 4096, Timestamp = t };
        var before = new[] { C("a", 10, 1, t0), C("b", 10, 1, t0), C("c", 5, 1, t0) };
        var after = new[] { C("a", 30, 3, t0.AddSeconds(2)), C("b", 10, 1, t0.AddSeconds(2)), C("c", 1, 0, t0.AddSeconds(2)) };
        var g = SlabCacheGrowth.Between(before, after);
        Assert.Equal(new[] { "a", "c" }, g.Select(x => x.Name));
        Assert.Equal(20, g[0].ObjectsDelta);
        Assert.Equal(10.0, g[0].ObjectsPerSecond);
        Assert.Equal(4096.0, g[0].BytesPerSecond);
        Assert.Equal(-4096, g[1].BytesDelta);
    }

    [Fact]
    public void TruncatedAndGarbage_WarnNeverThrow()
    {
        var ctx = new ParseContext("t");
        var truncated = SlabInfoParser.Parse(Mangle.Truncate(FixtureText), 4096, ctx);
        Assert.NotEmpty(truncated);
        Assert.NotEmpty(ctx.Issues); // the cut line
        var g = new ParseContext("g");
        var garbage = SlabInfoParser.Parse(Mangle.Garbage(FixtureText, 5), 4096, g);
        Assert.NotEmpty(g.Issues);
        Assert.All(garbage, c => Assert.True(c.TotalObjects >= 0 && c.TotalBytes >= 0));
        for (int seed = 0; seed < 50; seed++) SlabInfoParser.Parse(Mangle.RandomText(400, seed), 4096, new ParseContext("r"));
    }

    [Fact]
    public void OtherVersion_Warns()
    {
        var ctx = new ParseContext("v");
        SlabInfoParser.Parse("slabinfo - version: 3.0\n", 4096, ctx);
        Assert.Contains(ctx.Issues, i => i.Message.Contains("3.0"));
    }

    [Fact]
    public void Live_MatchesProcSlabinfo()
    {
        if (!File.Exists("/proc/slabinfo")) Assert.Skip("this kernel has no /proc/slabinfo");
        var ctx = new ParseContext("live");
        var caches = SlabReader.Read(KernelRoot.Live, SlabDetail.Basic, ctx);
        Assert.Empty(ctx.Issues);
        var names = File.ReadLines("/proc/slabinfo").Skip(2).Select(l => l.Split(' ')[0]).ToHashSet();
        Assert.Equal(names.Count, caches.Count);
        Assert.All(caches, c => Assert.Contains(c.Name, names));
        // A merged cache here: each alias link points to the directory of a listed cache.
        var merged = caches.Where(c => c.Aliases.Count > 0).ToList();
        Assert.NotEmpty(merged);
        foreach (var c in merged.Take(5))
            foreach (var a in c.Aliases)
                Assert.Equal(Path.GetFileName(new FileInfo("/sys/kernel/slab/" + c.Name).LinkTarget ?? c.Name),
                             Path.GetFileName(new FileInfo("/sys/kernel/slab/" + a).LinkTarget));
    }
}

public class VmStatTests
{
    [Fact]
    public void Parse_SumsSplitCountersAndKeepsOrder()
    {
        var ctx = new ParseContext("vmstat");
        var c = VmStatParser.Parse("nr_free_pages 100\nallocstall_dma32 2\nallocstall_normal 3\npgscan_direct 7\nworkingset_refault 4\n", ctx);
        Assert.Empty(ctx.Issues);
        Assert.Equal(new[] { "nr_free_pages", "allocstall_dma32", "allocstall_normal", "pgscan_direct", "workingset_refault" }, c.Keys);
        var v = VmStat.From(c, DateTimeOffset.UnixEpoch);
        Assert.Equal(5, v.AllocationStalls);
        Assert.Equal(7, v.PagesScannedDirect);
        Assert.Equal(4, v.WorkingsetRefaultsFile); // older name
    }

    [Fact]
    public void Rates_ArePerSecond()
    {
        var t0 = DateTimeOffset.UnixEpoch;
        var a = VmStat.From(VmStatParser.Parse("pgscan_kswapd 100\npgsteal_kswapd 50\noom_kill 1\n", new("a")), t0);
        var b = VmStat.From(VmStatParser.Parse("pgscan_kswapd 300\npgsteal_kswapd 150\noom_kill 2\n", new("b")), t0.AddSeconds(2));
        var r = VmStatRate.Between(a, b);
        Assert.Equal(100, r.PagesScannedKswapd);
        Assert.Equal(50, r.PagesStolenKswapd);
        Assert.Equal(50.0, r.ReclaimEfficiencyPercent);
        Assert.Equal(1, r.OomKills);
        Assert.Equal(100, r.Rates["pgscan_kswapd"]);
    }

    [Fact]
    public void Live_AllLinesParse()
    {
        var ctx = new ParseContext("/proc/vmstat");
        var c = VmStatParser.Parse(File.ReadAllText("/proc/vmstat"), ctx);
        Assert.Empty(ctx.Issues);
        Assert.Equal(File.ReadAllLines("/proc/vmstat").Length, c.Count);
        Assert.True(VmStat.From(c, DateTimeOffset.Now).PageFaults > 0);
    }

    [Fact]
    public void TruncatedAndGarbage_WarnNeverThrow()
    {
        string text = File.ReadAllText("/proc/vmstat");
        var t = new ParseContext("t");
        Assert.NotEmpty(VmStatParser.Parse(Mangle.Truncate(text) + " x", t));
        Assert.NotEmpty(t.Issues);
        var g = new ParseContext("g");
        VmStatParser.Parse(Mangle.Garbage(text, 2), g);
        Assert.NotEmpty(g.Issues);
    }
}

public class BuddyInfoTests
{
    private const string Sample = "Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3\n" +
                                  "Node 0, zone   Normal      8      4      0      0      0      0      0      0      0      0      0\n";

    [Fact]
    public void Parse_AndFragmentation()
    {
        var ctx = new ParseContext("buddyinfo");
        var zones = BuddyInfoParser.Parse(Sample, ctx);
        Assert.Empty(ctx.Issues);
        Assert.Equal(2, zones.Count);
        var dma = MemoryFragmentation.From(zones[0], 9, 4096);
        Assert.Equal(256 + 512 + 3 * 1024, dma.FreePages);
        Assert.Equal(10, dma.LargestFreeOrder);
        Assert.Equal(1 + 3 * 2, dma.SuitableBlocks);
        Assert.Equal(Math.Round(100.0 * 256 / 3840, 1), dma.FragmentationPercent); // only the order-8 block is too small
        Assert.Null(dma.ExternalFragmentationIndex);
        var normal = MemoryFragmentation.From(zones[1], 2, 4096);
        Assert.Equal(16, normal.FreePages);
        Assert.Equal(0, normal.SuitableBlocks);
        Assert.Equal(100, normal.FragmentationPercent); // 16 free pages, none in a 4-page block
        // kernel: 1000 - (1000 + 16*1000/4) / 12 = 584 → 0.584
        Assert.Equal(0.584, normal.ExternalFragmentationIndex!.Value, 3);
    }

    [Fact]
    public void Live_EveryZoneParses()
    {
        var ctx = new ParseContext("/proc/buddyinfo");
        var zones = BuddyInfoParser.Parse(File.ReadAllText("/proc/buddyinfo"), ctx);
        Assert.Empty(ctx.Issues);
        Assert.Equal(File.ReadAllLines("/proc/buddyinfo").Length, zones.Count);
        long freePages = zones.Sum(z => MemoryFragmentation.From(z, 0, 4096).FreePages);
        long nrFree = long.Parse(File.ReadLines("/proc/vmstat").First(l => l.StartsWith("nr_free_pages ")).Split(' ')[1]);
        Assert.InRange(freePages, nrFree * 0.8, nrFree * 1.2); // same memory, read a moment apart
    }

    [Fact]
    public void TruncatedAndGarbage_WarnNeverThrow()
    {
        var t = new ParseContext("t");
        Assert.Single(BuddyInfoParser.Parse(Mangle.Truncate(Sample, 0.7), t));
        Assert.Single(t.Issues);
        var g = new ParseContext("g");
        BuddyInfoParser.Parse(Mangle.Garbage(Sample, 1) + "\nNode x, zone", g);
        Assert.NotEmpty(g.Issues);
    }
}
