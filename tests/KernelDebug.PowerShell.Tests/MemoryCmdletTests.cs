using System.Diagnostics;
using System.Management.Automation;
using System.Net.Sockets;
using KernelDebug.Core.Kmsg;
using KernelDebug.Core.Procfs;
using KernelDebug.Core.Sysfs;
using KernelDebug.Core.Tasks;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.PowerShell.Tests;

public class SlabCacheCmdletTests
{
    [Fact]
    public void Live_SocketsGrowSockInodeCache_InIntervalMode()
    {
        // Every socket has an inode from sock_inode_cache, a cache SLUB keeps under its own name here.
        if (!Directory.Exists("/sys/kernel/slab/sock_inode_cache")) Assert.Skip("no unmerged sock_inode_cache on this kernel");
        const int batch = 500;
        var held = new List<Socket>();
        try
        {
            var run = Task.Run(() => PsRunner.Run("Get-SlabCache -Name sock_inode_cache -Interval 00:00:01 -Count 2"));
            // The runspace may take seconds to start on a loaded machine: open a batch of sockets every 250 ms until
            // sampling ends, so batches fall inside the sampled intervals whenever the baseline is taken.
            while (!run.Wait(250) && held.Count < 12000)
                for (int i = 0; i < batch; i++) held.Add(new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified));
            var r = run.Result;
            Assert.Null(r.Terminating);
            var growth = r.Objects<SlabCacheGrowth>();
            Assert.NotEmpty(growth);
            Assert.All(growth, g => Assert.Equal("sock_inode_cache", g.Name));
            Assert.True(growth.Sum(g => g.TotalObjectsDelta) >= batch * 8 / 10, r.ToString() + string.Join("; ", growth));
            var most = growth.MaxBy(g => g.BytesDelta)!;
            Assert.True(most.BytesPerSecond >= batch * 832 / 2, most.ToString());
            Assert.InRange(most.Interval, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(5));
            Assert.NotEmpty(r.Progress);
        }
        finally
        {
            foreach (var s in held) s.Dispose();
        }
    }

    [Fact]
    public void Live_TopAndMinimumSize_FilterBySize()
    {
        var r = PsRunner.Run("Get-SlabCache -Top 5");
        Assert.Null(r.Terminating);
        var top = r.Objects<SlabCache>();
        Assert.Equal(5, top.Count);
        Assert.Equal(top.OrderByDescending(c => c.TotalBytes).Select(c => c.Name), top.Select(c => c.Name));
        var big = PsRunner.Run("Get-SlabCache -MinimumSize 1MB").Objects<SlabCache>();
        Assert.All(big, c => Assert.True(c.TotalBytes >= 1 << 20));
        Assert.Contains(top[0].Name, big.Select(c => c.Name));
    }

    [Fact]
    public void Live_SummaryMatchesMeminfo()
    {
        var s = Assert.Single(PsRunner.Run("Get-SlabCache -Summary").Objects<SlabSummary>());
        long unreclaim = long.Parse(File.ReadLines("/proc/meminfo").First(l => l.StartsWith("SUnreclaim:")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        Assert.InRange(s.UnreclaimableBytes!.Value, unreclaim * 0.8, unreclaim * 1.2);
        Assert.True(s.CacheCount > 50);
    }

    [Fact]
    public void NameCompletion_ListsLiveCaches()
    {
        var r = PsRunner.Run("(TabExpansion2 -inputScript 'Get-SlabCache -Name dent' -cursorColumn 24).CompletionMatches.CompletionText");
        Assert.Contains("dentry", r.Output.Select(o => o.ToString()));
    }

    [Fact]
    public void Alias_MatchesTheMergedCache()
    {
        var r = PsRunner.Run("Get-SlabCache -Root $root -Name UNIX", new Dictionary<string, object?> { ["root"] = TestPaths.Fixture("memory", "slab") });
        Assert.Equal("signal_cache", Assert.Single(r.Objects<SlabCache>()).Name);
    }

    [Fact]
    public void CtrlC_StopsSampling()
    {
        var sw = Stopwatch.StartNew();
        var r = PsRunner.RunAndStop("Get-SlabCache -Interval 00:00:30", TimeSpan.FromSeconds(1));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), sw.Elapsed.ToString());
        Assert.Null(r.Terminating);
        Assert.Empty(r.Errors);
    }

    [Fact]
    public void Unprivileged_SlabInfo_IsAccessDeniedWithRemedy()
    {
        if (Unprivileged.WhyUnavailable() is { } why) Assert.Skip(why);
        var r = Unprivileged.RunPwsh("try { Get-SlabCache } catch { $_.FullyQualifiedErrorId; $_.ErrorDetails.RecommendedAction }");
        Assert.Contains("KernelFileAccessDenied", r.StdOut);
        Assert.Contains("root", r.StdOut);
    }
}

public class VmStatCmdletTests
{
    [Fact]
    public void Live_RatesFollowPageFaults()
    {
        var run = Task.Run(() => PsRunner.Run("Get-VmStat -Interval 00:00:00.5 -Count 2"));
        var until = DateTime.UtcNow.AddSeconds(1.2);
        while (DateTime.UtcNow < until)
        {
            var buf = GC.AllocateUninitializedArray<byte>(16 << 20, pinned: true);
            for (int i = 0; i < buf.Length; i += 4096) buf[i] = 1; // fault every page in
        }
        var r = run.Result;
        Assert.Null(r.Terminating);
        var rates = r.Objects<VmStatRate>();
        Assert.Equal(2, rates.Count);
        Assert.All(rates, x => Assert.InRange(x.Interval, TimeSpan.FromSeconds(0.45), TimeSpan.FromSeconds(3)));
        Assert.Contains(rates, x => x.PageFaults > 100);
        Assert.Contains(rates, x => x.Rates.ContainsKey("pgfault"));
    }

    [Fact]
    public void Live_NameGivesCounterRows()
    {
        var r = PsRunner.Run("Get-VmStat -Name pgfault, 'nr_free_*'");
        var rows = r.Objects<VmStatCounter>();
        Assert.Contains(rows, c => c.Name == "pgfault" && c.Value > 0 && c.Delta is null);
        Assert.Contains(rows, c => c.Name == "nr_free_pages");
        Assert.DoesNotContain(rows, c => c.Name == "pgmajfault");
    }

    [Fact]
    public void Fragmentation_ReadsEveryZone()
    {
        var r = PsRunner.Run("Get-MemoryFragmentation -Order 4");
        var zones = r.Objects<MemoryFragmentation>();
        Assert.Equal(File.ReadAllLines("/proc/buddyinfo").Length, zones.Count);
        Assert.All(zones, z => { Assert.Equal(4, z.Order); Assert.InRange(z.FragmentationPercent, 0, 100); });
        Assert.Equal(zones.Count(z => z.Zone == "Normal"), PsRunner.Run("Get-MemoryFragmentation -Zone Norm*").Output.Count);
    }
}

public class BlockedTaskCmdletTests
{
    // A vfork parent waits for its child in TASK_KILLABLE, shown as D, with a kernel stack in the vfork path.
    private static readonly string HelperDir = Path.Combine(Path.GetTempPath(), "kd-vfork-" + Guid.NewGuid().ToString("N")[..8]);

    private static void Stop(Process p)
    {
        p.Kill(true);
        p.WaitForExit();
        try { Directory.Delete(HelperDir, true); } catch (IOException) { }
    }

    private static Process StartVforkParent(int seconds)
    {
        string dir = HelperDir;
        Directory.CreateDirectory(dir);
        string exe = Path.Combine(dir, "vfork-wait");
        if (!File.Exists(exe))
        {
            string src = Path.Combine(dir, "vfork-wait.c");
            File.WriteAllText(src, "#include <unistd.h>\n#include <stdlib.h>\nint main(int c, char **v) { int s = c > 1 ? atoi(v[1]) : 5; if (vfork() == 0) { sleep(s); _exit(0); } return 0; }\n");
            var cc = Unprivileged.Run(new ProcessStartInfo("cc", ["-O2", "-o", exe, src]) { RedirectStandardOutput = true, RedirectStandardError = true }, TimeSpan.FromMinutes(1));
            Assert.True(cc.ExitCode == 0, cc.ToString());
        }
        var p = Process.Start(new ProcessStartInfo(exe, seconds.ToString()))!;
        for (int i = 0; i < 100; i++)
        {
            string stat = File.ReadAllText($"/proc/{p.Id}/stat");
            // D is set before the task leaves the CPU; wchan reads 0 until it has switched out.
            if (stat[(stat.LastIndexOf(')') + 2)..].StartsWith('D') && File.ReadAllText($"/proc/{p.Id}/wchan").Trim() is not ("0" or "")) return p;
            Thread.Sleep(20);
        }
        p.Kill(true);
        throw new InvalidOperationException("the vfork parent never entered D state");
    }

    [Fact]
    public void Live_FindsVforkParentInDState_WithWaitChannelAndStack()
    {
        if (!File.Exists("/usr/bin/cc")) Assert.Skip("no C compiler (cc) to build the vfork helper");
        using var p = StartVforkParent(4);
        try
        {
            string wchan = File.ReadAllText($"/proc/{p.Id}/wchan").Trim();
            var r = PsRunner.Run("Get-BlockedTask -ProcessId $p", new Dictionary<string, object?> { ["p"] = p.Id });
            Assert.Null(r.Terminating);
            var t = Assert.Single(r.Objects<BlockedTask>());
            Assert.Equal(p.Id, t.ProcessId);
            Assert.Equal(p.Id, t.ThreadId);
            Assert.Equal(TaskState.UninterruptibleSleep, t.State);
            Assert.Equal("vfork-wait", t.Command);
            Assert.False(string.IsNullOrEmpty(t.WaitChannel));
            Assert.Equal(wchan, t.WaitChannel);
            Assert.Contains(t.Stack, f => f.Function == t.WaitChannel);
            Assert.Contains(t.Stack, f => f.Function.Contains("vfork"));
            Assert.Equal(TimeSpan.FromSeconds(long.Parse(File.ReadAllText("/proc/sys/kernel/hung_task_timeout_secs"))), t.HungTaskTimeout);
            // Known only when the reader ran on the CPU the task last ran on (per-CPU clocks).
            if (t.SinceLastRun is { } since) Assert.InRange(since, TimeSpan.Zero, TimeSpan.FromSeconds(4));
            Assert.Equal(File.ReadAllText($"/proc/{p.Id}/cgroup").Split('\n').First(l => l.StartsWith("0::"))[3..], t.CGroup);
        }
        finally { Stop(p); }
    }

    [Fact]
    public void Live_IntervalReportsTasksBlockedAcrossSamples()
    {
        if (!File.Exists("/usr/bin/cc")) Assert.Skip("no C compiler (cc) to build the vfork helper");
        using var p = StartVforkParent(10);
        try
        {
            var r = PsRunner.Run("Get-BlockedTask -ProcessId $p -Interval 00:00:00.5 -Count 3", new Dictionary<string, object?> { ["p"] = p.Id });
            Assert.Null(r.Terminating);
            var seen = r.Objects<BlockedTask>();
            Assert.Equal(3, seen.Count); // seen in samples 2, 3 and 4 after the baseline
            Assert.Equal(new[] { 2, 3, 4 }, seen.Select(t => t.SampleCount));
            Assert.InRange(seen[^1].BlockedFor!.Value, TimeSpan.FromSeconds(1.4), TimeSpan.FromSeconds(10));
        }
        finally { Stop(p); }
    }

    [Fact]
    public void CtrlC_StopsSampling()
    {
        var sw = Stopwatch.StartNew();
        var r = PsRunner.RunAndStop("Get-BlockedTask -Interval 00:00:30", TimeSpan.FromSeconds(1));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), sw.Elapsed.ToString());
        Assert.Null(r.Terminating);
        Assert.Empty(r.Errors);
    }

    [Fact]
    public void Unprivileged_StillListsTasks_AndWarnsStacksNeedRoot()
    {
        if (Unprivileged.WhyUnavailable() is { } why) Assert.Skip(why);
        var r = Unprivileged.RunPwsh("$t = @(Get-BlockedTask -State Sleeping -WarningVariable w 3>$null); \"count=$($t.Count)\"; \"stacks=$(@($t | Where-Object { $_.Stack.Count -gt 0 }).Count)\"; $w");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Matches(@"count=[1-9]", r.StdOut);
        Assert.Contains("stacks=0", r.StdOut);
        Assert.Contains("root only", r.StdOut);
    }

    [Fact]
    public void Live_OtherStates_AndNameFilter()
    {
        using var sleeper = Process.Start(new ProcessStartInfo("sleep", "30"))!;
        try
        {
            Thread.Sleep(200);
            var r = PsRunner.Run("Get-BlockedTask -State Sleeping -Name 'slee*' -ProcessId $p", new Dictionary<string, object?> { ["p"] = sleeper.Id });
            var t = Assert.Single(r.Objects<BlockedTask>());
            Assert.Equal(TaskState.Sleeping, t.State);
            Assert.Equal("hrtimer_nanosleep", t.WaitChannel);
        }
        finally { sleeper.Kill(); sleeper.WaitForExit(); }
    }
}

public class HardwareCmdletTests
{
    private static Dictionary<string, object?> Root(params string[] parts) => new() { ["root"] = TestPaths.Fixture(parts) };

    [Theory]
    [InlineData("Get-LockStat", "LockStatUnavailable", "CONFIG_LOCK_STAT", "/proc/lock_stat")]
    [InlineData("Get-LockStat -Class", "LockdepUnavailable", "CONFIG_LOCKDEP", "/proc/lockdep")]
    [InlineData("Get-EdacError", "EdacUnavailable", "CONFIG_EDAC", "/sys/devices/system/edac")]
    [InlineData("Get-MachineCheck", "MachineCheckUnavailable", "CONFIG_X86_MCE", "/sys/devices/system/machinecheck")]
    [InlineData("Get-MachineCheck -Follow", "MachineCheckUnavailable", "CONFIG_X86_MCE", "/sys/devices/system/machinecheck")]
    [InlineData("Get-MachineCheck -Settings", "MachineCheckUnavailable", "CONFIG_X86_MCE", "/sys/devices/system/machinecheck")]
    public void Live_MissingFeature_IsTerminatingErrorNamingTheOption(string script, string errorId, string option, string probe)
    {
        if (Path.Exists(probe)) Assert.Skip($"this kernel has {probe}");
        if (errorId == "MachineCheckUnavailable" && MachineCheckReader.HasMachineCheck(KernelDebug.Core.KernelRoot.Live)) Assert.Skip("this kernel has the mce tracepoint");
        var r = PsRunner.Run(script);
        Assert.NotNull(r.Terminating);
        Assert.StartsWith(errorId, r.Terminating!.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.NotImplemented, r.Terminating.CategoryInfo.Category);
        Assert.Contains(option, r.Terminating.ErrorDetails.RecommendedAction);
    }

    [Fact]
    public void LockStat_Fixture_TopByContentions()
    {
        var r = PsRunner.Run("Get-LockStat -Root $root -Top 2", Root("memory", "lockdep"));
        Assert.Null(r.Terminating);
        Assert.Equal(new[] { "&rq->lock", "&rq->lock/1" }, r.Objects<LockStat>().Select(l => l.Class));
        Assert.Equal(6, PsRunner.Run("Get-LockStat -Root $root -Class", Root("memory", "lockdep")).Objects<LockdepClass>().Count);
        Assert.Equal(16, PsRunner.Run("Get-LockStat -Root $root -Statistics", Root("memory", "lockdep")).Objects<LockdepStatistic>().Count);
        Assert.Equal(2, PsRunner.Run("Get-LockStat -Root $root -Name '&mm*'", Root("memory", "lockdep")).Objects<LockStat>().Count);
    }

    [Fact]
    public void Edac_Fixture_DimmsControllersAndPci()
    {
        var r = PsRunner.Run("Get-EdacError -Root $root", Root("memory", "edac"));
        Assert.Null(r.Terminating);
        var dimms = r.Objects<EdacDimm>();
        Assert.Equal(10, dimms.Count);
        Assert.Equal(15, dimms.Single(d => d.Label == "CPU_SrcID#0_MC#0_Chan#0_DIMM#1").CorrectedErrors);
        Assert.Equal(3, PsRunner.Run("Get-EdacError -Root $root -Controller", Root("memory", "edac")).Objects<EdacMemoryController>().Count);
        Assert.Equal(2, Assert.Single(PsRunner.Run("Get-EdacError -Root $root -Pci", Root("memory", "edac")).Objects<EdacPciCounters>()).NonParityErrors);
    }

    [Fact]
    public void Edac_Interval_ReportsErrorsThatAppear()
    {
        using var tree = FixtureTree.CopyOf("memory", "edac");
        var run = Task.Run(() => PsRunner.Run("Get-EdacError -Root $root -Interval 00:00:00.4 -Count 4", new Dictionary<string, object?> { ["root"] = tree.Path }));
        // The runspace takes a moment to start: keep adding errors while it samples.
        int ce = 0;
        string counter = Path.Combine(tree.Path, "sys/devices/system/edac/mc/mc1/rank1/dimm_ce_count");
        while (!run.Wait(150))
        {
            File.WriteAllText(counter + ".tmp", $"{++ce}\n");
            File.Move(counter + ".tmp", counter, overwrite: true); // atomically, as sysfs shows a value
        }
        var changes = run.Result.Objects<EdacErrorChange>();
        Assert.NotEmpty(changes);
        Assert.All(changes, c => Assert.Equal(("mc1", "rank1", 0L), (c.Controller, c.Dimm, c.NewUncorrected)));
        Assert.All(changes, c => Assert.True(c.NewCorrected > 0));
        Assert.True(changes.Sum(c => c.NewCorrected) <= ce, $"{changes.Sum(c => c.NewCorrected)} of {ce}");
    }

    [Fact]
    public void MachineCheck_PathAndSnapshot()
    {
        var r = PsRunner.Run("Get-MachineCheck -Path $path", new Dictionary<string, object?> { ["path"] = TestPaths.Fixture("memory", "mce", "dmesg.txt") });
        Assert.Null(r.Terminating);
        var m = r.Objects<MachineCheck>();
        Assert.Equal(new[] { MachineCheckSeverity.Corrected, MachineCheckSeverity.Fatal, MachineCheckSeverity.Corrected }, m.Select(x => x.Severity));
        Assert.Equal(3, PsRunner.Run("Get-MachineCheck -Root $root", Root("memory", "mce")).Objects<MachineCheck>().Count);
        var s = Assert.Single(PsRunner.Run("Get-MachineCheck -Root $root -Settings", Root("memory", "mce")).Objects<MachineCheckSettings>());
        Assert.Equal(12, s.BankControls.Count);
    }

    [Fact]
    public void MachineCheck_MissingLog_IsNonTerminatingAndOthersStillRead()
    {
        var r = PsRunner.Run("Get-MachineCheck -Path /nonexistent/kd.log, $path", new Dictionary<string, object?> { ["path"] = TestPaths.Fixture("memory", "mce", "dmesg.txt") });
        Assert.Null(r.Terminating);
        Assert.StartsWith("KernelLogNotFound", Assert.Single(r.Errors).FullyQualifiedErrorId);
        Assert.Equal(3, r.Objects<MachineCheck>().Count);
    }

    [Fact]
    public void NonPositiveInterval_IsInvalidArgument()
    {
        var r = PsRunner.Run("Get-VmStat -Interval 00:00:00");
        Assert.StartsWith("DurationNotPositive", r.Terminating!.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, r.Terminating.CategoryInfo.Category);
    }

    [Fact]
    public void MachineCheck_GarbageLog_WarnsWithFileAndLine()
    {
        using var tree = FixtureTree.Create();
        tree.File("bad.log", "mce: [Hardware Error]: CPU x: Machine Check: 0 Bank 1: zz\n");
        var r = PsRunner.Run("Get-MachineCheck -Path $p", new Dictionary<string, object?> { ["p"] = Path.Combine(tree.Path, "bad.log") });
        Assert.Empty(r.Output);
        Assert.Contains(r.Warnings, w => w.Contains("bad.log:1"));
    }
}
