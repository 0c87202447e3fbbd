using System.Diagnostics;
using KernelDebug.Core;
using KernelDebug.Core.Bpf.Engine;
using KernelDebug.Core.Bpf.Tools;
using KernelDebug.Core.Kmsg;
using Xunit;

namespace KernelDebug.Core.Tests.Bpf;

/// <summary>
/// Trace-OomKill's oracle: a child in a memory cgroup of its own, limited to 32 MiB, reads into a 128 MiB buffer and
/// is killed by the OOM killer; only that cgroup is ever at risk, and it is removed afterwards.
/// </summary>
[Collection(LiveBpf.Name)]
public class OomKillLiveTests
{
    private const string MemoryV1 = "/sys/fs/cgroup/memory";

    [Fact]
    public void AChildOverItsCgroupLimit_IsReportedWithPidCgroupAndConstraint()
    {
        Assert.True(Directory.Exists(MemoryV1), "machines of this kind have the cgroup v1 memory controller");
        string name = $"kd-oom-test-{Environment.ProcessId}";
        string cg = Path.Combine(MemoryV1, name);
        Directory.CreateDirectory(cg);
        try
        {
            File.WriteAllText(Path.Combine(cg, "memory.limit_in_bytes"), (32L << 20).ToString());
            var tracer = OomKillTracer.Start(KernelRoot.Live, new OomKillOptions { Filter = new BpfTaskFilter { Cgroup = cg } });
            int child = 0;
            var kills = LiveBpf.Measure(tracer, () =>
            {
                // The shell moves itself into the cgroup, then becomes dd, whose 128 MiB buffer cannot fit.
                using var p = Process.Start(new ProcessStartInfo("sh", ["-c", $"echo $$ > {cg}/cgroup.procs && exec dd if=/dev/zero of=/dev/null bs=128M count=1 status=none"]) { RedirectStandardError = true })!;
                child = p.Id;
                Assert.True(p.WaitForExit(60_000), "the child was not killed within a minute");
                Assert.Equal(128 + 9, p.ExitCode);   // SIGKILL
                var deadline = Stopwatch.StartNew();
                while (tracer.ReceivedEvents == 0 && deadline.ElapsedMilliseconds < 2000) Thread.Sleep(10);
            });
            var kill = Assert.Single(kills);
            Assert.Equal(child, kill.ProcessId);
            Assert.Equal("dd", kill.Command);
            Assert.Equal(child, kill.TriggerProcessId);   // its own allocation hit the limit
            Assert.Equal("/" + name, kill.CgroupPath);
            Assert.InRange(kill.AnonRssBytes, 16L << 20, 32L << 20);   // its buffer filled the 32 MiB limit when it was killed
            Assert.True(kill.RssBytes >= kill.AnonRssBytes + kill.FileRssBytes);
            Assert.True(kill.TotalVmBytes >= 128L << 20, $"total VM {kill.TotalVmBytes}");
            // Joined with the kernel log's report of the same kill.
            Assert.NotNull(kill.Report);
            Assert.Equal(OomConstraint.Memcg, kill.Constraint);
            Assert.Equal("/" + name, kill.OomCgroup);
            Assert.Equal(32L << 20, kill.MemcgLimitBytes);
            Assert.Equal(0UL, tracer.LostEvents);
        }
        finally
        {
            for (int i = 0; i < 50 && Directory.Exists(cg); i++)
            {
                try { Directory.Delete(cg); }
                catch (IOException) { Thread.Sleep(100); }
            }
        }
    }
}
