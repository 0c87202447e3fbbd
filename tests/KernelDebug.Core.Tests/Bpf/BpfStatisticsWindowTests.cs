using System.Runtime.InteropServices;
using KernelDebug.Core;
using KernelDebug.Core.Bpf;
using Xunit;

namespace KernelDebug.Core.Tests.Bpf;

/// <summary>
/// BPF statistics are one switch for the whole kernel (every BPF_ENABLE_STATS holder turns them on for every
/// program), so this test runs alone: a health check or another meter sampling its own window in a parallel test
/// made our programs count outside our window.
/// </summary>
[Collection(BpfStatisticsCollection.Name)]
public partial class BpfStatisticsWindowTests
{
    [LibraryImport("libc", SetLastError = true)]
    private static partial int getppid();

    [Fact]
    public void StatisticsSampling_CountsOnlyInsideTheWindow()
    {
        // run_cnt only advances while BPF statistics are on: inside the first window it follows our calls, between
        // windows it stands still (the kernel.bpf_stats_enabled sysctl does not show BPF_ENABLE_STATS, so it cannot tell).
        using var meter = SyscallLatencyMeter.Start(KernelRoot.Live, new SyscallLatencyOptions { ProcessIds = [Environment.ProcessId] });
        ulong Runs() => meter.Session.LoadedPrograms().Where(p => p.Name.EndsWith("_exit")).Aggregate(0UL, (a, p) => a + p.Info.RunCount);
        ulong r0 = Runs();
        for (int i = 0; i < 1000; i++) getppid();
        ulong r1 = Runs();
        Thread.Sleep(SyscallLatencyMeter.StatsWindow + TimeSpan.FromMilliseconds(100));
        ulong r2 = Runs();
        for (int i = 0; i < 1000; i++) getppid();
        ulong r3 = Runs();
        Assert.True(r1 - r0 >= 1000, $"inside the window: {r1 - r0}");
        Assert.True(r3 - r2 < 1000, $"outside the window: {r3 - r2}");
        var r = Assert.Single(meter.Finish(), x => x.Syscall == "getppid");
        Assert.NotNull(r.OverheadPerEvent);
        Assert.NotNull(r.ProgramRunTime);
    }
}

/// <summary>Tests that need BPF statistics to be switched only by themselves.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class BpfStatisticsCollection
{
    public const string Name = "bpf-statistics";
}
