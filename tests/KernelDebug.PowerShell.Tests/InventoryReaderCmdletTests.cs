using System.Management.Automation;
using KernelDebug.Core.Inventory;
using KernelDebug.Core.Procfs;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.PowerShell.Tests;

public class InventoryReaderCmdletTests
{
    private static Dictionary<string, object?> Vars(params (string, object?)[] v) => v.ToDictionary(x => x.Item1, x => x.Item2);
    private static string Db1 => TestPaths.Fixture("inventory", "db1");

    [Fact]
    public void GetKernelConfig_NameWithoutPrefix_AndValue()
    {
        var r = PsRunner.Run("Get-KernelConfig -Root $root HZ, *KPROBE*; Get-KernelConfig -Root $root CONFIG_EXT4_FS -Value", Vars(("root", Db1)));
        Assert.Null(r.Terminating);
        var opts = r.Objects<KernelConfigOption>();
        Assert.Equal(new[] { "CONFIG_HZ", "CONFIG_KPROBES", "CONFIG_KPROBE_EVENTS" }, opts.Select(o => o.Name));
        Assert.Equal("m", Assert.Single(r.Objects<string>()));
    }

    [Fact]
    public void GetKernelConfig_UnknownExactName_IsNonTerminating_AndNoConfig_Terminates()
    {
        var r = PsRunner.Run("Get-KernelConfig -Root $root NO_SUCH_OPTION, HZ", Vars(("root", Db1)));
        Assert.Null(r.Terminating);
        Assert.Equal("KernelConfigOptionNotFound", Assert.Single(r.Errors).FullyQualifiedErrorId.Split(',')[0]);
        Assert.Single(r.Objects<KernelConfigOption>());
        using var empty = FixtureTree.Create().File("proc/version", "Linux version 6.9.0 (x)");
        var e = PsRunner.Run("Get-KernelConfig -Root $root", Vars(("root", empty.Path)));
        Assert.StartsWith("KernelConfigNotFound", e.Terminating!.FullyQualifiedErrorId);
        Assert.Contains("CONFIG_IKCONFIG_PROC", e.Terminating.ErrorDetails.RecommendedAction);
    }

    [Fact]
    public void GetKernelDebugCapability_Wildcards_AndUnknownName()
    {
        var r = PsRunner.Run("Get-KernelDebugCapability Tracepoint.*, Btf, Nope");
        Assert.Null(r.Terminating);
        var caps = r.Objects<DebugCapability>();
        Assert.Equal(DebugCapabilities.TracepointFamilies.Count + 1, caps.Count);
        Assert.Equal(File.Exists("/sys/kernel/btf/vmlinux"), caps.Single(c => c.Name == "Btf").Available);
        Assert.Equal("DebugCapabilityNotFound", Assert.Single(r.Errors).FullyQualifiedErrorId.Split(',')[0]);
    }

    [Fact]
    public void GetKernelSysctl_Wildcards_ExactMissing_AndQuietSkips()
    {
        var r = PsRunner.Run("Get-KernelSysctl kernel.hung_task*, kernel.osrelease, kernel.nope -Verbose; (Get-KernelSysctl vm.*).Count");
        Assert.Null(r.Terminating);
        var entries = r.Objects<SysctlEntry>();
        Assert.Contains(entries, e => e.Name == "kernel.osrelease" && !e.Writable);
        Assert.All(entries.Where(e => e.Name != "kernel.osrelease"), e => Assert.StartsWith("kernel.hung_task", e.Name));
        Assert.Equal("SysctlNotFound", Assert.Single(r.Errors).FullyQualifiedErrorId.Split(',')[0]);
        Assert.True(Assert.Single(r.Objects<int>()) > 10);
        var all = PsRunner.Run("Get-KernelSysctl -Verbose | Out-Null");
        Assert.Empty(all.Errors);
        Assert.Contains(all.Verbose, v => v.Contains("vm.drop_caches"));
    }

    [Fact]
    public void GetMemoryInfo_LiveAndNodes()
    {
        var r = PsRunner.Run("Get-MemoryInfo; Get-MemoryInfo -Node -Root $root", Vars(("root", Db1)));
        Assert.Null(r.Terminating);
        var m = r.Objects<MemoryInfo>();
        long kb = long.Parse(File.ReadLines("/proc/meminfo").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        Assert.Equal(kb * 1024, m[0].MemTotal);
        Assert.Equal(new int?[] { null, 0, 1 }, m.Select(x => x.Node));
    }

    [Fact]
    public void GetCpuStat_Interval_BurningThreadShowsAsUser_WithProgress()
    {
        using var stop = new CancellationTokenSource();
        var burner = new Thread(() => { double x = 1; while (!stop.IsCancellationRequested) x = Math.Sqrt(x + 1); GC.KeepAlive(x); }) { IsBackground = true };
        burner.Start();
        PsResult r;
        try { r = PsRunner.Run("Get-CpuStat -Interval 00:00:01 -PerCpu"); }
        finally { stop.Cancel(); burner.Join(); }
        Assert.Null(r.Terminating);
        var u = r.Objects<CpuUsage>();
        Assert.Equal(1 + Environment.ProcessorCount, u.Count);
        Assert.Equal("All", u[0].Cpu);
        Assert.True(u[0].UserPercent > 0, r.ToString());
        Assert.True(u[0].ContextSwitchesPerSecond > 0);
        Assert.InRange(u[0].Interval, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(5));
        Assert.Contains(r.Progress, p => p.RecordType == ProgressRecordType.Processing);
    }

    [Fact]
    public void GetCpuStat_CtrlC_StopsCleanly_KeepingRecords()
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        // 1000 intervals would take over 4 minutes; Ctrl+C after 6 s (generous: the box is shared) must end it at once.
        var r = PsRunner.RunAndStop("Get-CpuStat -Interval 00:00:00.25 -Count 1000", TimeSpan.FromSeconds(6));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30));
        Assert.Null(r.Terminating);
        Assert.Empty(r.Errors);
        Assert.NotEmpty(r.Objects<CpuUsage>());
    }

    [Fact]
    public void GetCpuStat_SinceBoot_AndLoadAndPressure()
    {
        var r = PsRunner.Run("Get-CpuStat -PerCpu -Root $root; Get-LoadAverage -Root $root; Get-PressureStall memory -Cgroup /system.slice/postgresql.service -Root $root", Vars(("root", Db1)));
        Assert.Null(r.Terminating);
        Assert.Equal(9, r.Objects<CpuTimes>().Count);
        Assert.Equal(0.4, Assert.Single(r.Objects<LoadAverage>()).Load1PerCpu);
        Assert.Equal(30, Assert.Single(r.Objects<PressureStall>()).SomeAvg10);
        var irq = PsRunner.Run("Get-PressureStall -Root $root irq", Vars(("root", Db1)));
        Assert.Equal("KernelFileNotFound", Assert.Single(irq.Errors).FullyQualifiedErrorId.Split(',')[0]);
    }

    [Fact]
    public void SaveKernelSnapshot_WhatIf_WritesNothing_ThenSnapshotReadsBack()
    {
        using var tmp = FixtureTree.Create();
        string dest = Path.Combine(tmp.Path, "snap");
        var w = PsRunner.Run("Save-KernelSnapshot -Path $p -WhatIf", Vars(("p", dest)));
        Assert.Null(w.Terminating);
        Assert.False(Directory.Exists(dest));
        var r = PsRunner.Run("Save-KernelSnapshot -Root $root -Path $p | Out-Null; Get-KernelInfo -Root $p; Get-MemoryInfo -Root $p",
            Vars(("root", Db1), ("p", dest)));
        Assert.Null(r.Terminating);
        Assert.Equal("db1", Assert.Single(r.Objects<KernelInfo>()).HostName);
        Assert.Equal(65536000L * 1024, Assert.Single(r.Objects<MemoryInfo>()).MemTotal);
    }

    [Fact]
    public void Unprivileged_RootOnlyRead_GivesAccessDenied_AndSysctlSkipsQuietly()
    {
        if (Unprivileged.WhyUnavailable() is { } why) Assert.Skip(why);
        string dir = Path.Combine(Path.GetTempPath(), "kd-inv-private-" + Environment.ProcessId);
        Directory.CreateDirectory(Path.Combine(dir, "proc"));
        try
        {
            File.WriteAllText(Path.Combine(dir, "proc/meminfo"), "MemTotal: 1 kB\n");
            File.SetUnixFileMode(Path.Combine(dir, "proc/meminfo"), UnixFileMode.UserRead);
            File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
            var r = Unprivileged.RunPwsh(
                $"try {{ Get-MemoryInfo -Root '{dir}' -ErrorAction Stop }} catch {{ $_.FullyQualifiedErrorId; $_.CategoryInfo.Category; $_.ErrorDetails.RecommendedAction }}; " +
                "$n = 0; Get-KernelSysctl -ErrorVariable ev | ForEach-Object { $n++ }; \"sysctl $n errors $($ev.Count)\"");
            Assert.True(r.ExitCode == 0, r.ToString());
            var lines = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            Assert.StartsWith("KernelFileAccessDenied", lines[0]);
            Assert.Equal("PermissionDenied", lines[1]);
            Assert.Contains("root", lines[2]);
            Assert.Matches(@"^sysctl \d+ errors 0$", lines[3]);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void SaveKernelSnapshot_PathIsAFile_IsTerminatingErrorWithId()
    {
        using var tmp = FixtureTree.Create().File("afile", "x");
        var r = PsRunner.Run("Save-KernelSnapshot -Root $root -Path $p", Vars(("root", Db1), ("p", Path.Combine(tmp.Path, "afile"))));
        Assert.StartsWith("SnapshotPathUnusable", r.Terminating!.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.WriteError, r.Terminating.CategoryInfo.Category);
    }

    [Fact]
    public void Completers_OfferTheNamesTheKernelLists()
    {
        var r = PsRunner.Run(
            "(TabExpansion2 'Get-KernelDebugCapability -Name Tracepoint.s').CompletionMatches.CompletionText;" +
            "(TabExpansion2 'Get-KernelSysctl kernel.hung_task_t').CompletionMatches.CompletionText");
        Assert.Null(r.Terminating);
        var texts = r.Output.Select(o => o.BaseObject.ToString()).ToList();
        Assert.Contains("Tracepoint.sched", texts);
        Assert.Contains("kernel.hung_task_timeout_secs", texts);
        Assert.DoesNotContain("Tracepoint.kmem", texts);
    }
}
