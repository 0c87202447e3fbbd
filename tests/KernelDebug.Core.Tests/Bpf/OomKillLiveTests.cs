using System.Diagnostics;
using KernelDebug.Core;
using KernelDebug.Core.Bpf.Engine;
using KernelDebug.Core.Bpf.Tools;
using KernelDebug.Core.Kmsg;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests.Bpf;

/// <summary>
/// Trace-OomKill's oracle: a child in a memory cgroup of its own, limited to 32 MiB, reads into a 128 MiB buffer and
/// is killed by the OOM killer; only that cgroup is ever at risk, and it is removed afterwards.
/// </summary>
[Collection(LiveBpf.Name)]
public class OomKillLiveTests
{
    [Fact]
    public void AChildOverItsCgroupLimit_IsReportedWithPidCgroupAndConstraint()
    {
        using var cg = MemoryCgroup.Create("kd-oom-test", 32L << 20);
        {
            var tracer = OomKillTracer.Start(KernelRoot.Live, new OomKillOptions { Filter = new BpfTaskFilter { Cgroup = cg.Path } });
            int child = 0;
            var kills = LiveBpf.Measure(tracer, () =>
            {
                // The shell moves itself into the cgroup, then becomes dd, whose 128 MiB buffer cannot fit.
                using var p = cg.Start("dd if=/dev/zero of=/dev/null bs=128M count=1 status=none");
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
            Assert.Equal(cg.KernelPath, kill.CgroupPath);
            Assert.InRange(kill.AnonRssBytes, 16L << 20, 32L << 20);   // its buffer filled the 32 MiB limit when it was killed
            Assert.True(kill.RssBytes >= kill.AnonRssBytes + kill.FileRssBytes);
            Assert.True(kill.TotalVmBytes >= 128L << 20, $"total VM {kill.TotalVmBytes}");
            // Joined with the kernel log's report of the same kill.
            Assert.NotNull(kill.Report);
            Assert.Equal(OomConstraint.Memcg, kill.Constraint);
            Assert.Equal(cg.KernelPath, kill.OomCgroup);
            Assert.Equal(32L << 20, kill.MemcgLimitBytes);
            Assert.Equal(0UL, tracer.LostEvents);
        }
    }
}
