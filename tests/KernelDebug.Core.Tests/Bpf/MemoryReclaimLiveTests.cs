using System.Diagnostics;
using KernelDebug.Core;
using KernelDebug.Core.Bpf.Engine;
using KernelDebug.Core.Bpf.Tools;
using KernelDebug.Core.Errors;
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
    private const string MemoryV1 = "/sys/fs/cgroup/memory";

    private static (IReadOnlyList<MemoryReclaim> Records, int Child) ReadBeyondLimit(MemoryReclaimOptions options, string cg)
    {
        string file = Path.Combine(AppContext.BaseDirectory, $"reclaim-oracle-{Environment.ProcessId}.bin");
        using (var f = File.Create(file)) f.SetLength(512L << 20);
        try
        {
            int child = 0;
            var records = LiveBpf.Measure(MemoryReclaimMeter.Start(KernelRoot.Live, options), () =>
            {
                using var p = Process.Start(new ProcessStartInfo("sh", ["-c", $"echo $$ > {cg}/cgroup.procs && exec dd if={file} of=/dev/null bs=1M status=none"]) { RedirectStandardError = true })!;
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

    private static string NewCgroup(string name)
    {
        Assert.True(Directory.Exists(MemoryV1), "machines of this kind have the cgroup v1 memory controller");
        string cg = Path.Combine(MemoryV1, $"{name}-{Environment.ProcessId}");
        Directory.CreateDirectory(cg);
        File.WriteAllText(Path.Combine(cg, "memory.limit_in_bytes"), (64L << 20).ToString());
        return cg;
    }

    private static void Remove(string cg)
    {
        for (int i = 0; i < 50 && Directory.Exists(cg); i++)
        {
            try { Directory.Delete(cg); }
            catch (IOException) { Thread.Sleep(100); }
        }
    }

    [Fact]
    public void ReadingPastTheCgroupLimit_IsMemcgReclaim_InThatProcessAndCgroup()
    {
        string cg = NewCgroup("kd-reclaim-test");
        try
        {
            var (records, child) = ReadBeyondLimit(new MemoryReclaimOptions { Filter = new BpfTaskFilter { Cgroup = cg }, GroupBy = ReclaimGrouping.Process }, cg);
            var memcg = Assert.Single(records, r => r.Kind == ReclaimKind.Memcg);
            Assert.Equal(child, memcg.ProcessId);
            Assert.Equal("dd", memcg.Command);
            Assert.Equal("/" + Path.GetFileName(cg), memcg.CgroupPath);
            Assert.True(memcg.Count > 0);
            // What did not fit had to be reclaimed: 512 MiB read through a 64 MiB limit.
            Assert.True(memcg.BytesReclaimed >= 448L << 20, $"{memcg.BytesReclaimed >> 20} MiB reclaimed in {memcg.Count} stalls");
            Assert.Equal(memcg.BytesReclaimed, memcg.PagesReclaimed * Environment.SystemPageSize);
            Assert.True(memcg.Min <= memcg.P50 && memcg.P50 <= memcg.P99 && memcg.P99 <= memcg.Max);
            Assert.All(records, r => Assert.Equal(child, r.ProcessId));   // the cgroup filter holds
        }
        finally
        {
            Remove(cg);
        }
    }

    [Fact]
    public void KindDirect_CountsNoMemcgReclaim_AndLoadsOnlyItsPrograms()
    {
        string cg = NewCgroup("kd-reclaim-direct");
        try
        {
            var meter = MemoryReclaimMeter.Start(KernelRoot.Live, new MemoryReclaimOptions { Kinds = [ReclaimKind.Direct], Filter = new BpfTaskFilter { Cgroup = cg } });
            Assert.Equal(3, meter.Session.ProgramIds.Count);   // begin, end, kswapd wakeups
            meter.Dispose();
            var (records, _) = ReadBeyondLimit(new MemoryReclaimOptions { Kinds = [ReclaimKind.Direct], Filter = new BpfTaskFilter { Cgroup = cg } }, cg);
            Assert.DoesNotContain(records, r => r.Kind != ReclaimKind.Direct);
        }
        finally
        {
            Remove(cg);
        }
    }

    [Fact]
    public void NameWithoutProcessGrouping_IsRefused()
    {
        var e = Assert.Throws<KernelDebugException>(() => MemoryReclaimMeter.Start(KernelRoot.Live, new MemoryReclaimOptions { CommandFilter = _ => true }));
        Assert.Equal("NameNeedsProcessGrouping", e.ErrorId);
    }
}
