using System.Management.Automation;
using KernelDebug.Core.Bpf;
using KernelDebug.Core.Bpf.Tools;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.PowerShell.Tests;

/// <summary>
/// Measure-BlockIoLatency, Measure-LockContention, Measure-PacketDrop, Trace-KernelMemoryLeak, Measure-KernelCpuProfile, Measure-InterruptTime, Trace-OomKill and Measure-MemoryReclaim hosted in this process. One class so the live tests run one after
/// another; leak checks look only at the kd_bio_/kd_lk_/kd_pd_/kd_ml_/kd_pf_/kd_irq_/kd_oom_/kd_rc_ programs this process held or that appeared during the test.
/// </summary>
[Collection(BpfToolsSerial.Name)]
public class BpfToolsCmdletTests
{
    private static readonly int Self = Environment.ProcessId;
    private static readonly string[] OurPrefixes = ["kd_bio_", "kd_lk_", "kd_pd_", "kd_ml_", "kd_pf_", "kd_irq_", "kd_oom_", "kd_rc_"];

    private static bool Ours(string name) => OurPrefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal));

    private static HashSet<uint> Held() =>
        BpfProgramInfo.ReadAll(Ours).Where(p => p.OwnerProcessIds.Contains(Self)).Select(p => p.Id).ToHashSet();

    private static uint MaxProgramId() => BpfProgramInfo.ReadAll(resolveOwners: false).Select(p => p.Id).DefaultIfEmpty(0u).Max();

    /// <summary>Nothing this process created is held any more, and what appeared since <paramref name="idsAbove"/> and is not another process's is unloaded.</summary>
    internal static void AssertNothingLeft(uint idsAbove)
    {
        Assert.Empty(Held());
        var created = BpfProgramInfo.ReadAll(Ours, resolveOwners: false).Where(p => p.Id > idsAbove).Select(p => p.Id).ToList();
        var stillLoaded = BpfProgramInfo.WaitUntilUnloaded(created, TimeSpan.FromSeconds(5));
        var othersHold = BpfProgramInfo.ReadAll(Ours).Where(p => stillLoaded.Contains(p.Id) && p.OwnerProcessIds.Count > 0 && !p.OwnerProcessIds.Contains(Self)).Select(p => p.Id);
        Assert.Empty(stillLoaded.Except(othersHold));
    }

    /// <summary>
    /// "Nothing of ours is left when the prompt returns": the very next command after a BPF cmdlet sees none of the
    /// programs it loaded (their ids come from its own -Verbose line, so concurrent runs of others cannot disturb it),
    /// neither in the kernel's list read here at once, without waiting, nor through Get-BpfProgram -Name kd_*.
    /// </summary>
    [Theory]
    [InlineData("Measure-SyscallLatency -Duration 0:0:0.3")]
    [InlineData("Measure-BlockIoLatency -Duration 0:0:0.3")]
    [InlineData("Measure-LockContention -Duration 0:0:0.3")]
    [InlineData("Measure-PacketDrop -Duration 0:0:0.3")]
    [InlineData("Trace-KernelMemoryLeak -ProcessId $PID -Duration 0:0:0.3")]
    [InlineData("Measure-KernelCpuProfile -Duration 0:0:0.3")]
    [InlineData("Measure-InterruptTime -Duration 0.3")]
    [InlineData("Trace-OomKill -Duration 0.3")]
    [InlineData("Measure-MemoryReclaim -Duration 0.3")]
    public void NothingLoaded_WhenTheCmdletReturns(string command)
    {
        var r = PsRunner.Run($"{command} -Verbose | Out-Null; Get-BpfProgram -Name kd_* | ForEach-Object Id");
        Assert.Null(r.Terminating);
        var line = Assert.Single(r.Verbose, v => v.StartsWith("Attached with", StringComparison.Ordinal));
        var ids = System.Text.RegularExpressions.Regex.Match(line, @"programs ([0-9, ]+)\.").Groups[1].Value
            .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(uint.Parse).ToHashSet();
        Assert.NotEmpty(ids);
        var stillListed = BpfProgramInfo.ReadAll(resolveOwners: false).Select(p => p.Id).Where(ids.Contains).ToList();
        Assert.Empty(stillListed);
        Assert.Empty(r.Output.Select(o => Convert.ToUInt32(o.BaseObject)).Where(ids.Contains));
    }

    /// <summary>Ctrl+C at random points, from before the attach to mid-interval, leaves nothing loaded.</summary>
    [Theory]
    [InlineData("Measure-BlockIoLatency -Queued -Interval 0:0:0.05 -Continuous", 11)]
    [InlineData("Measure-LockContention -ByCaller -Interval 0:0:0.05 -Continuous", 13)]
    [InlineData("Measure-PacketDrop -GroupBy Reason, Location, Interface -Interval 0:0:0.05 -Continuous", 23)]
    [InlineData("Trace-KernelMemoryLeak -MaxTracked 4096 -Interval 0:0:0.05 -Continuous", 17)]
    [InlineData("Measure-KernelCpuProfile -Interval 0:0:0.05 -Continuous", 19)]
    [InlineData("Measure-InterruptTime -PerCpu -Interval 0.05 -Continuous", 29)]
    [InlineData("Trace-OomKill -Interval 0.05 -Continuous", 31)]
    [InlineData("Measure-MemoryReclaim -GroupBy Process -Interval 0.05 -Continuous", 37)]
    public void StopMidRun_20Times_LeavesNothing(string command, int seed)
    {
        uint before = MaxProgramId();
        var rnd = new Random(seed);
        for (int i = 0; i < 20; i++)
        {
            var r = PsRunner.RunAndStop(command, TimeSpan.FromMilliseconds(rnd.Next(0, 250)));
            Assert.True(r.Terminating is null, r.ToString());
            Assert.Empty(Held());
        }
        AssertNothingLeft(before);
    }

    [Theory]
    [InlineData("Measure-BlockIoLatency")]
    [InlineData("Measure-LockContention")]
    [InlineData("Measure-PacketDrop")]
    [InlineData("Trace-KernelMemoryLeak")]
    [InlineData("Measure-KernelCpuProfile")]
    [InlineData("Measure-InterruptTime")]
    [InlineData("Trace-OomKill")]
    [InlineData("Measure-MemoryReclaim")]
    public void Unprivileged_GetsPermissionDenied(string command)
    {
        if (Unprivileged.WhyUnavailable() is { } why) Assert.Skip(why);
        var r = Unprivileged.RunPwsh($"try {{ {command} -Duration 0:0:1 }} catch {{ 'ID=' + $_.FullyQualifiedErrorId; 'CAT=' + $_.CategoryInfo.Category; 'FIX=' + $_.ErrorDetails.RecommendedAction }}");
        Assert.Contains("ID=BpfPermissionDenied", r.StdOut);
        Assert.Contains("CAT=PermissionDenied", r.StdOut);
        Assert.Contains("cap_bpf,cap_perfmon", r.StdOut);
    }

    [Fact]
    public void BlockIo_LoopDevice_DirectWrites_CountAndBytesMatch()
    {
        if (LoopDevice.WhyUnavailable() is { } why) Assert.Skip(why);
        uint before = MaxProgramId();
        using var loop = LoopDevice.Create();
        var t = BpfAttached.Then("kd_bio_", 2, () => loop.WriteDirect(64, 32768));
        var r = PsRunner.Run($"Measure-BlockIoLatency -Disk {loop.Name} -ByDisk -ByOperation -Duration 0:0:3");
        t.Join();
        Assert.Null(r.Terminating);
        var w = Assert.Single(r.Objects<BlockIoLatency>(), x => x.Operation == "Write");
        Assert.Equal(loop.Name, w.Disk);
        Assert.Equal(64UL, w.Count);
        Assert.Equal(64L * 32768, w.Bytes);
        Assert.NotEmpty(r.Progress);
        AssertNothingLeft(before);
    }

    [Fact]
    public void BlockIo_DiskFromPipeline_ByPropertyName()
    {
        if (LoopDevice.WhyUnavailable() is { } why) Assert.Skip(why);
        uint before = MaxProgramId();
        using var loop = LoopDevice.Create();
        var t = BpfAttached.Then("kd_bio_", 2, () => loop.WriteDirect(10, 4096));
        var r = PsRunner.Run($"[pscustomobject]@{{ Disk = '{loop.Name}' }} | Measure-BlockIoLatency -ByDisk -Duration 0:0:2");
        t.Join();
        Assert.Null(r.Terminating);
        var rec = Assert.Single(r.Objects<BlockIoLatency>());
        Assert.Equal(loop.Name, rec.Disk);
        Assert.True(rec.Count >= 10);
        AssertNothingLeft(before);
    }

    [Fact]
    public void BlockIo_UnknownDisk_IsObjectNotFound()
    {
        var r = PsRunner.Run("Measure-BlockIoLatency -Disk no-such-disk -Duration 0:0:1");
        Assert.NotNull(r.Terminating);
        Assert.StartsWith("DiskNotFound", r.Terminating!.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, r.Terminating.CategoryInfo.Category);
    }

    [Fact]
    public void Lock_PipeWriters_ByCaller_FromPipeline()
    {
        uint before = MaxProgramId();
        var t = BpfAttached.Then("kd_lk_", 2, () => Pipes.Contend(TimeSpan.FromSeconds(1.5)));
        var r = PsRunner.Run("Get-Process -Id $PID | Measure-LockContention -ByCaller -Duration 0:0:3 -Top 20");
        t.Join();
        Assert.Null(r.Terminating);
        var recs = r.Objects<LockContention>();
        Assert.InRange(recs.Count, 1, 20);
        for (int i = 1; i < recs.Count; i++) Assert.True(recs[i - 1].TotalWait >= recs[i].TotalWait);
        Assert.Contains(recs, x => x.LockType == "mutex" && x.Stack.Any(f => f.Function.Contains("pipe_write")));
        AssertNothingLeft(before);
    }

    [Fact]
    public void Lock_NegativeMinimumWait_IsInvalidArgument()
    {
        var r = PsRunner.Run("Measure-LockContention -MinimumWait ([timespan]::FromSeconds(-1)) -Duration 0:0:1");
        Assert.NotNull(r.Terminating);
        Assert.StartsWith("DurationNotPositive,", r.Terminating!.FullyQualifiedErrorId); // one ErrorId for every duration
        Assert.Equal(ErrorCategory.InvalidArgument, r.Terminating.CategoryInfo.Category);
    }

    [Fact]
    public void Drop_UdpToClosedPort_ExactlyNNoSocketDrops()
    {
        uint before = MaxProgramId();
        var t = BpfAttached.Then("kd_pd_", 1, () => ClosedUdpPort.Send(300, 50));
        var r = PsRunner.Run("Measure-PacketDrop -Reason no_socket -Duration 0:0:2.5");
        t.Join();
        Assert.Null(r.Terminating);
        var recs = r.Objects<PacketDrop>();
        Assert.All(recs, x => Assert.Equal("NO_SOCKET", x.Reason));   // the kernel filter holds
        var udp = Assert.Single(recs, x => x.Function == "__udp4_lib_rcv" && x.Protocol == "IPv4");
        Assert.Equal(300UL, udp.Count);
        Assert.Equal(300L * (50 + ClosedUdpPort.UdpHeader), udp.Bytes);
        Assert.NotEmpty(r.Progress);
        AssertNothingLeft(before);
    }

    [Fact]
    public void Drop_GroupByReasonOnly_SumsLocationsAndProtocols()
    {
        var t = BpfAttached.Then("kd_pd_", 1, () => ClosedUdpPort.Send(40));
        var r = PsRunner.Run("Measure-PacketDrop -GroupBy Reason -Reason NO_SOCKET -Duration 0:0:2");
        t.Join();
        Assert.Null(r.Terminating);
        var rec = Assert.Single(r.Objects<PacketDrop>());
        Assert.True(rec.Count >= 40, $"{rec.Count}");
        Assert.Equal(("*", (ulong?)null, (ushort?)null), (rec.Protocol, rec.Location, rec.ProtocolNumber));
    }

    [Fact]
    public void Drop_UnknownReason_IsInvalidArgument_BeforeLoading()
    {
        uint before = MaxProgramId();
        var r = PsRunner.Run("Measure-PacketDrop -Reason NO_SUCH_REASON -Duration 0:0:1");
        Assert.NotNull(r.Terminating);
        Assert.StartsWith("UnknownDropReason", r.Terminating!.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, r.Terminating.CategoryInfo.Category);
        Assert.Contains("tab completion", r.Terminating.ErrorDetails?.RecommendedAction ?? r.Terminating.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(BpfProgramInfo.ReadAll(Ours, resolveOwners: false), p => p.Id > before && p.Name.StartsWith("kd_pd_", StringComparison.Ordinal));
    }

    [Fact]
    public void Leak_OpenPipes_AttributedToPipeCode()
    {
        uint before = MaxProgramId();
        List<int> fds = new();
        var t = BpfAttached.Then("kd_ml_", 4, () => fds = Pipes.Open(1500));
        try
        {
            var r = PsRunner.Run("Trace-KernelMemoryLeak -ProcessId $PID -Duration 0:0:2.5 -Top 10");
            t.Join();
            Assert.Null(r.Terminating);
            var recs = r.Objects<KernelMemoryLeak>();
            Assert.InRange(recs.Count, 1, 10);
            var pipe = recs.Where(x => x.Site.StartsWith("alloc_pipe_info")).Aggregate(0UL, (s, x) => s + x.Count);
            Assert.True(pipe >= 1500, string.Join("\n", recs.Select(x => $"{x.Site} {x.Count}")));
            for (int i = 1; i < recs.Count; i++) Assert.True(recs[i - 1].Bytes >= recs[i].Bytes);
        }
        finally
        {
            t.Join();
            Pipes.Close(fds);
        }
        AssertNothingLeft(before);
    }

    [Fact]
    public void Leak_TableFull_WarnsAboutOverflow()
    {
        List<int> fds = new();
        var t = BpfAttached.Then("kd_ml_", 4, () => fds = Pipes.Open(300));
        try
        {
            var r = PsRunner.Run("Trace-KernelMemoryLeak -ProcessId $PID -MaxTracked 50 -Duration 0:0:2");
            t.Join();
            Assert.Null(r.Terminating);
            Assert.Contains(r.Warnings, w => w.Contains("-MaxTracked"));
            Assert.All(r.Objects<KernelMemoryLeak>(), x => Assert.True(x.Overflows > 0));
        }
        finally
        {
            t.Join();
            Pipes.Close(fds);
        }
    }

    [Fact]
    public void Leak_TinyStackTable_WarnsAboutLostStacks()
    {
        List<int> fds = new();
        var t = BpfAttached.Then("kd_ml_", 4, () => fds = Pipes.Open(100));
        try
        {
            var r = PsRunner.Run("Trace-KernelMemoryLeak -ProcessId $PID -MaxStacks 1 -Duration 0:0:2");
            t.Join();
            Assert.Null(r.Terminating);
            var leaks = r.Objects<KernelMemoryLeak>();
            ulong lost = leaks.Aggregate(0UL, (n, x) => n + x.LostStacks);
            Assert.True(lost >= 100, $"lost {lost}");
            Assert.Contains(r.Warnings, w => w.StartsWith($"{lost} outstanding allocations have no stack", StringComparison.Ordinal) && w.Contains("-MaxStacks"));
        }
        finally
        {
            t.Join();
            Pipes.Close(fds);
        }
    }

    [Fact]
    public void Profile_BusyLoop_FoldsIntoFlameGraphInput()
    {
        uint before = MaxProgramId();
        var psi = new System.Diagnostics.ProcessStartInfo("sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("while :; do :; done");
        using var busy = System.Diagnostics.Process.Start(psi)!;
        try
        {
            var r = PsRunner.Run($"Measure-KernelCpuProfile -ProcessId {busy.Id} -Duration 0:0:1.5 | ConvertTo-FoldedStack -IncludeCommand");
            Assert.Null(r.Terminating);
            var folded = r.Objects<KernelDebug.Core.Profiling.FoldedStack>();
            Assert.NotEmpty(folded);
            Assert.All(folded, f => Assert.Equal("sh", f.Frames[0]));
            Assert.True(folded.Sum(f => f.Count) >= 30);
            var top = PsRunner.Run($"Measure-KernelCpuProfile -ProcessId {busy.Id} -Duration 0:0:1 -TopFunctions -Top 3");
            Assert.Null(top.Terminating);
            Assert.InRange(top.Objects<KernelCpuFunction>().Count, 1, 3);
        }
        finally
        {
            busy.Kill();
            busy.WaitForExit();
        }
        AssertNothingLeft(before);
    }



    [Fact]
    public void Irq_TimerSoftirq_PerCpu_ForABareNumberOfSeconds()
    {
        uint before = MaxProgramId();
        var r = PsRunner.Run("Measure-InterruptTime -Kind Soft -Name TIMER -PerCpu -Duration 0.5");
        Assert.Null(r.Terminating);
        var recs = r.Objects<InterruptTime>();
        Assert.NotEmpty(recs);
        Assert.All(recs, x =>
        {
            Assert.Equal(InterruptKind.Soft, x.Kind);
            Assert.Equal("TIMER", x.Name);
            Assert.NotNull(x.Cpu);
            Assert.True(x.Count > 0);
            Assert.InRange((x.EndTime - x.StartTime).TotalSeconds, 0.45, 5);   // 0.5 is seconds, not ticks
        });
        Assert.Equal(recs.Count, recs.Select(x => x.Cpu).Distinct().Count());
        AssertNothingLeft(before);
    }

    [Fact]
    public void Irq_CpuFilter_KeepsOnlyThatCpu()
    {
        var r = PsRunner.Run("Measure-InterruptTime -Cpu 0 -Duration 0.3");
        Assert.Null(r.Terminating);
        var recs = r.Objects<InterruptTime>();
        Assert.NotEmpty(recs);
        Assert.All(recs, x => Assert.Equal(0, x.Cpu));
    }

    [Fact]
    public void Irq_Cgroup_IsRefusedAsInvalidArgument()
    {
        var r = PsRunner.Run("Measure-InterruptTime -Cgroup /sys/fs/cgroup -Duration 0.3");
        Assert.NotNull(r.Terminating);
        Assert.StartsWith("InterruptsHaveNoTask", r.Terminating!.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, r.Terminating.CategoryInfo.Category);
    }

    [Fact]
    public void Irq_UnknownName_IsAnObjectNotFoundError_AndAWildcardIsSilent()
    {
        var r = PsRunner.Run("Measure-InterruptTime -Name no-such-irq, nosuch* -Duration 0.2");
        Assert.Null(r.Terminating);
        var e = Assert.Single(r.Errors);
        Assert.StartsWith("InterruptNotFound", e.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, e.CategoryInfo.Category);
        Assert.Empty(r.Objects<InterruptTime>());
    }



    [Fact]
    public void Oom_ChildOverItsCgroupLimit_IsOneRecord_JoinedWithTheLog()
    {
        uint before = MaxProgramId();
        using var cg = MemoryCgroup.Create("kd-oom-cmdlet", 32L << 20);
        {
            int child = 0;
            var t = BpfAttached.Then("kd_oom_", 1, () =>
            {
                using var p = cg.Start("dd if=/dev/zero of=/dev/null bs=128M count=1 status=none");
                child = p.Id;
                p.WaitForExit(60_000);
            });
            var r = PsRunner.Run($"Trace-OomKill -Cgroup {cg.Path} -Duration 4");
            t.Join();
            Assert.Null(r.Terminating);
            var kill = Assert.Single(r.Objects<OomKill>());
            Assert.Equal(child, kill.ProcessId);
            Assert.Equal("dd", kill.Command);
            Assert.Equal(Core.Kmsg.OomConstraint.Memcg, kill.Constraint);
            Assert.Equal(32L << 20, kill.MemcgLimitBytes);
            Assert.Empty(r.Warnings);
            AssertNothingLeft(before);
        }
    }

    [Fact]
    public void Reclaim_ReadPastACgroupLimit_ByProcessFromTheCmdlet()
    {
        uint before = MaxProgramId();
        using var cg = MemoryCgroup.Create("kd-reclaim-cmdlet", 64L << 20);
        string file = Path.Combine(AppContext.BaseDirectory, $"reclaim-cmdlet-{Environment.ProcessId}.bin");
        try
        {
            using (var f = File.Create(file)) f.SetLength(256L << 20);
            int child = 0;
            var t = BpfAttached.Then("kd_rc_", 3, () =>
            {
                using var p = cg.Start($"dd if={file} of=/dev/null bs=1M status=none");
                child = p.Id;
                p.WaitForExit(60_000);
            });
            var r = PsRunner.Run($"Measure-MemoryReclaim -Kind Memcg -Name dd -Cgroup {cg.Path} -Duration 3");
            t.Join();
            Assert.Null(r.Terminating);
            var rec = Assert.Single(r.Objects<MemoryReclaim>());
            Assert.Equal(ReclaimKind.Memcg, rec.Kind);
            Assert.Equal(child, rec.ProcessId);
            Assert.True(rec.BytesReclaimed >= 192L << 20, $"{rec.BytesReclaimed >> 20} MiB");
            AssertNothingLeft(before);
        }
        finally
        {
            File.Delete(file);
        }
    }
}

/// <summary>
/// Runs the BPF cmdlet tests alone, one after another, after the parallel tests: BpfCmdletTests counts every kd_
/// program this process holds, and a probe added to or removed from a tracepoint by a parallel test (an ftrace
/// capture) makes the kernel drop some calls of the probes already there, which exact counts would see.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class BpfToolsSerial
{
    public const string Name = "BPF tools (not in parallel with other kd_ program tests)";
}
