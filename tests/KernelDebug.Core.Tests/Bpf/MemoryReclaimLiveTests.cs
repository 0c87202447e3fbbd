using System.Diagnostics;
using KernelDebug.Core;
using KernelDebug.Core.Bpf.Engine;
using KernelDebug.Core.Bpf.Tools;
using KernelDebug.Core.Errors;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests.Bpf;

/// <summary>
/// Measure-MemoryReclaim's oracle: a child in a v1 memory cgroup of its own limited to 64 MiB reads 512 MiB of a file
/// (sparse, so no disk I/O: its page cache is still charged to the cgroup), which makes the cgroup reclaim at least the
/// 448 MiB it cannot keep, in that child, as memory-cgroup reclaim.
/// </summary>
[Collection(LiveBpf.Name)]
public class MemoryReclaimLiveTests
{
    private static (IReadOnlyList<MemoryReclaim> Records, int Child) ReadBeyondLimit(MemoryReclaimOptions options, MemoryCgroup cg)
    {
        string file = Path.Combine(AppContext.BaseDirectory, $"reclaim-oracle-{Environment.ProcessId}.bin");
        using (var f = File.Create(file)) f.SetLength(512L << 20);
        try
        {
            int child = 0;
            var records = LiveBpf.Measure(MemoryReclaimMeter.Start(KernelRoot.Live, options), () =>
            {
                using var p = cg.Start($"dd if={file} of=/dev/null bs=1M status=none");
                child = p.Id;
                Assert.True(p.WaitForExit(60_000), "dd did not finish");
                Assert.Equal(0, p.ExitCode);
            });
            return (records, child);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void ReadingPastTheCgroupLimit_IsMemcgReclaim_InThatProcessAndCgroup()
    {
        using var cg = MemoryCgroup.Create("kd-reclaim-test", 64L << 20);
        {
            var (records, child) = ReadBeyondLimit(new MemoryReclaimOptions { Filter = new BpfTaskFilter { Cgroup = cg.Path }, GroupBy = ReclaimGrouping.Process }, cg);
            var memcg = Assert.Single(records, r => r.Kind == ReclaimKind.Memcg);
            Assert.Equal(child, memcg.ProcessId);
            Assert.Equal("dd", memcg.Command);
            Assert.Equal(cg.KernelPath, memcg.CgroupPath);
            Assert.True(memcg.Count > 0);
            // What did not fit had to be reclaimed: 512 MiB read through a 64 MiB limit.
            Assert.True(memcg.BytesReclaimed >= 448L << 20, $"{memcg.BytesReclaimed >> 20} MiB reclaimed in {memcg.Count} stalls");
            Assert.Equal(memcg.BytesReclaimed, memcg.PagesReclaimed * Environment.SystemPageSize);
            Assert.True(memcg.Min <= memcg.P50 && memcg.P50 <= memcg.P99 && memcg.P99 <= memcg.Max);
            Assert.All(records, r => Assert.Equal(child, r.ProcessId));   // the cgroup filter holds
        }
    }

    [Fact]
    public void KindDirect_CountsNoMemcgReclaim_AndLoadsOnlyItsPrograms()
    {
        using var cg = MemoryCgroup.Create("kd-reclaim-direct", 64L << 20);
        {
            var meter = MemoryReclaimMeter.Start(KernelRoot.Live, new MemoryReclaimOptions { Kinds = [ReclaimKind.Direct], Filter = new BpfTaskFilter { Cgroup = cg.Path } });
            Assert.Equal(3, meter.Session.ProgramIds.Count);   // begin, end, kswapd wakeups
            meter.Dispose();
            var (records, _) = ReadBeyondLimit(new MemoryReclaimOptions { Kinds = [ReclaimKind.Direct], Filter = new BpfTaskFilter { Cgroup = cg.Path } }, cg);
            Assert.DoesNotContain(records, r => r.Kind != ReclaimKind.Direct);
        }
    }

    [Fact]
    public void NameWithoutProcessGrouping_IsRefused()
    {
        var e = Assert.Throws<KernelDebugException>(() => MemoryReclaimMeter.Start(KernelRoot.Live, new MemoryReclaimOptions { CommandFilter = _ => true }));
        Assert.Equal("NameNeedsProcessGrouping", e.ErrorId);
    }
}
