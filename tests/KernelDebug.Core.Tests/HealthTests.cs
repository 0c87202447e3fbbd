using KernelDebug.Core.Health;
using KernelDebug.Core.Errors;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests;

public class HealthTests
{
    private static List<KernelHealthFinding> RunOn(KernelRoot root, params string[] ids) =>
        HealthCheckRunner.Run(HealthChecks.All.Where(c => ids.Length == 0 || ids.Contains(c.CheckId)),
            new HealthContext(root, new HealthThresholds(), TimeSpan.FromMilliseconds(200), CancellationToken.None)).ToList();

    [Fact]
    public void CheckIds_AreUniqueAndWellFormed()
    {
        var ids = HealthChecks.All.Select(c => c.CheckId).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.All(ids, id => Assert.Matches(@"^KD1[0-7]\d\d$", id));
        Assert.All(HealthChecks.All, c => Assert.False(string.IsNullOrWhiteSpace(c.Description)));
    }

    [Fact]
    public void Taint_WarnsOnWarningFlag()
    {
        var f = Assert.Single(RunOn(FixtureTree.Open("inventory", "web1"), "KD1001"));
        Assert.Equal(HealthSeverity.Warning, f.Severity); // 4609 = P + W + O
        Assert.Contains("kernel issued warning", f.Message);
        Assert.Equal(4609, f.Value);
        Assert.Equal("web1", f.HostName);
    }

    [Fact]
    public void Taint_DiedIsAnError()
    {
        using var tree = FixtureTree.CopyOf("inventory", "web1");
        tree.File("proc/sys/kernel/tainted", "128\n");
        Assert.Equal(HealthSeverity.Error, Assert.Single(RunOn(tree.Root, "KD1001")).Severity);
    }

    [Fact]
    public void CrashDump_ReadyOnFixture_WarnsWithoutEvidencePath()
    {
        Assert.Equal(HealthSeverity.Ok, Assert.Single(RunOn(FixtureTree.Open("inventory", "web1"), "KD1101")).Severity);
        using var tree = FixtureTree.CopyOf("inventory", "web1");
        File.Delete(Path.Combine(tree.Path, "sys/kernel/kexec_crash_loaded"));
        File.Delete(Path.Combine(tree.Path, "sys/module/pstore/parameters/backend"));
        var f = Assert.Single(RunOn(tree.Root, "KD1101"));
        Assert.Equal(HealthSeverity.Warning, f.Severity);
        Assert.Contains("crashkernel=", f.Recommendation);
    }

    [Fact]
    public void PanicSettings_KdumpWithoutPanicOnOops_Warns()
    {
        using var tree = FixtureTree.CopyOf("inventory", "web1");
        tree.File("proc/sys/kernel/panic_on_oops", "0\n").File("proc/sys/kernel/panic", "0\n");
        var f = Assert.Single(RunOn(tree.Root, "KD1102"));
        Assert.Equal(HealthSeverity.Warning, f.Severity);
        Assert.Contains("panic_on_oops", f.Recommendation);
    }

    [Fact]
    public void Live_EveryCheckRunsWithoutThrowing()
    {
        var findings = RunOn(KernelRoot.Live);
        Assert.NotEmpty(findings);
        Assert.All(HealthChecks.All, c => Assert.Contains(findings, f => f.CheckId == c.CheckId));
    }

    [Fact]
    public void Offline_LiveOnlyChecksSayNotAvailable()
    {
        var findings = RunOn(FixtureTree.Open("inventory", "web1"));
        foreach (var c in HealthChecks.All.Where(c => c.NeedsLive))
            Assert.Contains(findings, f => f.CheckId == c.CheckId && f.Severity == HealthSeverity.Info && f.Message.Contains("not available offline"));
    }

    [Fact]
    public void Runner_TurnsReadErrorsIntoInfo()
    {
        var broken = new HealthCheck("KD1999", HealthArea.Kernel, "Broken", "always fails", false,
            _ => throw KernelErrors.FileNotFound("/proc/nothing", "nothing"));
        var f = Assert.Single(HealthCheckRunner.Run([broken], new HealthContext(KernelRoot.Live, new(), TimeSpan.Zero, default)));
        Assert.Equal(HealthSeverity.Info, f.Severity);
        Assert.Contains("could not be checked", f.Message);
    }

    [Fact]
    public void Thresholds_SetByNameAndRejectUnknown()
    {
        var t = new HealthThresholds();
        t.Set("memorywarningpercent", 75);
        Assert.Equal(75, t.MemoryWarningPercent);
        var e = Assert.Throws<ArgumentException>(() => t.Set("NoSuchThing", 1));
        Assert.Contains("MemoryWarningPercent", e.Message);
        Assert.Throws<ArgumentException>(() => t.Set("MemoryWarningPercent", "lots"));
        Assert.DoesNotContain("Names", HealthThresholds.Names);
    }

    [Fact]
    public void Report_IsSelfContainedAndHasEveryFinding()
    {
        var findings = RunOn(FixtureTree.Open("inventory", "web1"));
        var charts = new[]
        {
            new ReportChart("Memory", "bytes", "bar", [new("Used", 3e9), new("Free <cache>", 1e9)]),
            new ReportChart("CPU", "percent", "line", [new("0s", 10), new("1s", 55)]),
            new ReportChart("Latency", "usecs", "histogram", [new("1", 3), new("2", 9)]),
        };
        string html = HealthReportWriter.Render(null, findings, charts, DateTimeOffset.UnixEpoch);
        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org/2000/svg", ""));
        Assert.DoesNotContain("https://", html);
        Assert.Equal(findings.Count, System.Text.RegularExpressions.Regex.Matches(html, "<tr class=\"finding ").Count);
        Assert.Contains("Free &lt;cache&gt;", html);
        Assert.Equal(3, System.Text.RegularExpressions.Regex.Matches(html, "<figure class=\"chart\"").Count);
    }
}

public class HealthAreaCheckTests
{
    private static KernelHealthFinding One(KernelRoot root, string id) =>
        Assert.Single(HealthCheckRunner.Run(HealthChecks.All.Where(c => c.CheckId == id),
            new HealthContext(root, new HealthThresholds(), TimeSpan.FromMilliseconds(100), CancellationToken.None)));

    [Fact]
    public void Edac_UncorrectedIsCritical()
    {
        var f = One(FixtureTree.Open("memory", "edac"), "KD1602");
        Assert.Equal(HealthSeverity.Critical, f.Severity);
        Assert.Matches(@"^\d+ uncorrected", f.Message);
        Assert.Contains("replace the DIMM", f.Recommendation);
    }

    [Fact]
    public void Edac_Missing_IsInfoWithTheDriverToLoad()
    {
        var f = One(KernelRoot.Live, "KD1602");
        Assert.Equal(HealthSeverity.Info, f.Severity); // this VM has no EDAC
        Assert.Contains("CONFIG_EDAC", f.Recommendation);
    }

    [Fact]
    public void Lockdep_FixtureIsActive_LiveIsMissing()
    {
        Assert.Equal(HealthSeverity.Ok, One(FixtureTree.Open("memory", "lockdep"), "KD1503").Severity);
        var live = One(KernelRoot.Live, "KD1503");
        Assert.Equal(HealthSeverity.Info, live.Severity);
        Assert.Contains("PROVE_LOCKING", live.Recommendation);
    }

    [Fact]
    public void LargeSlabCaches_ListsTheBiggestWithAChart()
    {
        var f = One(FixtureTree.Open("memory", "slab"), "KD1304");
        Assert.Equal(HealthSeverity.Info, f.Severity);
        var chart = Assert.Single(f.Evidence.OfType<ReportChart>());
        Assert.Equal(chart.Points.OrderByDescending(p => p.Value).Select(p => p.Label), chart.Points.Select(p => p.Label));
        Assert.All(chart.Points, p => Assert.True(p.Value >= 1024 * 1024));
    }

    [Fact]
    public void MemoryUsage_ThresholdsDecideSeverity()
    {
        using var tree = FixtureTree.Create();
        tree.File("proc/meminfo", "MemTotal:       1000000 kB\nMemFree:         50000 kB\nMemAvailable:    150000 kB\n");
        var ctx = new HealthContext(tree.Root, new HealthThresholds(), TimeSpan.Zero, default);
        var f = Assert.Single(HealthCheckRunner.Run([HealthChecks.MemoryUsage], ctx));
        Assert.Equal(HealthSeverity.Warning, f.Severity); // 85 % used
        Assert.Equal(85, f.Value!.Value, 1);
        ctx = new HealthContext(tree.Root, new HealthThresholds { MemoryCriticalPercent = 84 }, TimeSpan.Zero, default);
        Assert.Equal(HealthSeverity.Critical, Assert.Single(HealthCheckRunner.Run([HealthChecks.MemoryUsage], ctx)).Severity);
    }

    [Fact]
    public void CpuUsage_LiveBusyThreadIsSeen()
    {
        using var stop = new CancellationTokenSource();
        var burner = new Thread(() => { while (!stop.IsCancellationRequested) { } }) { IsBackground = true };
        burner.Start();
        try
        {
            var f = One(KernelRoot.Live, "KD1401");
            var usage = Assert.Single(f.Evidence.OfType<Procfs.CpuUsage>());
            Assert.True(usage.UserPercent + usage.SystemPercent > 20, f.Message); // one of two CPUs spins
        }
        finally { stop.Cancel(); burner.Join(); }
    }
}

public class HealthLogCheckTests
{
    // A snapshot whose kernel log (dev/kmsg, raw records) holds a global OOM kill, a segfault loop and a panicking BUG.
    private static FixtureTree CrashedMachine(bool withCrash = true, int segfaults = 25)
    {
        var lines = new List<(int Level, double Uptime, string Text)>();
        foreach (var l in File.ReadAllLines(TestPaths.Fixture("kmsg", "oom-global.txt")))
        {
            var p = Kmsg.ConsolePrefix.Parse(l);
            if (p.Uptime is { } u) lines.Add((6, u.TotalSeconds, l[p.TextStart..]));
        }
        for (int i = 0; i < segfaults; i++)
            lines.Add((6, 1300 + i, $"crashy[{4000 + i}]: segfault at 0 ip 000055d0c0ffee00 sp 00007ffd12345678 error 4 in crashy[55d0c0ffe000+1000]"));
        if (withCrash)
            foreach (var t in new[]
                     {
                         "BUG: kernel NULL pointer dereference, address: 0000000000000008",
                         "#PF: supervisor read access in kernel mode",
                         "Oops: 0000 [#1] PREEMPT SMP NOPTI",
                         "CPU: 1 PID: 77 Comm: kworker/1:1 Not tainted 6.1.0 #1",
                         "RIP: 0010:blk_mq_dispatch_rq_list+0x1a/0x600",
                         "Call Trace:",
                         " <TASK>",
                         " blk_mq_dispatch_rq_list+0x1a/0x600",
                         " __blk_mq_sched_dispatch_requests+0x99/0x170",
                         " process_one_work+0x1e5/0x3b0",
                         " </TASK>",
                         "Kernel panic - not syncing: Fatal exception",
                     })
                lines.Add((0, 2000, t));
        var sb = new System.Text.StringBuilder();
        int seq = 1;
        foreach (var (lvl, up, text) in lines) sb.Append($"{lvl},{seq++},{(long)(up * 1e6)},-;{text}\n");
        return FixtureTree.Create().File("dev/kmsg", sb.ToString()).File("proc/stat", "cpu  1 1 1 1 1 1 1 1 1 1\nbtime 1732000000\n")
            .File("proc/sys/kernel/hostname", "crashed\n");
    }

    private static KernelHealthFinding One(KernelRoot root, string id) =>
        Assert.Single(HealthCheckRunner.Run(HealthChecks.All.Where(c => c.CheckId == id),
            new HealthContext(root, new HealthThresholds(), TimeSpan.Zero, CancellationToken.None)));

    [Fact]
    public void CrashReports_PanicIsCritical()
    {
        using var tree = CrashedMachine();
        var f = One(tree.Root, "KD1103");
        Assert.Equal(HealthSeverity.Critical, f.Severity);
        Assert.Contains("blk_mq_dispatch_rq_list", f.Message);
        Assert.Single(f.Evidence.OfType<KernelDebug.Core.Oops.KernelOops>(), o => o.Panicked);
    }

    [Fact]
    public void CrashReports_CleanLogIsOk()
    {
        using var tree = CrashedMachine(withCrash: false, segfaults: 0);
        Assert.Equal(HealthSeverity.Ok, One(tree.Root, "KD1103").Severity);
        Assert.Equal(HealthSeverity.Ok, One(tree.Root, "KD1203").Severity);
    }

    [Fact]
    public void OomKill_MachineWideIsAnErrorNamingTheVictim()
    {
        using var tree = CrashedMachine();
        var f = One(tree.Root, "KD1202");
        Assert.Equal(HealthSeverity.Error, f.Severity);
        Assert.Contains("stress-ng", f.Message);
    }

    [Fact]
    public void Segfaults_AStormIsAWarning_AFewAreInfo()
    {
        using (var tree = CrashedMachine())
        {
            var f = One(tree.Root, "KD1203");
            Assert.Equal(HealthSeverity.Warning, f.Severity);
            Assert.Contains("crashy ×25", f.Message);
        }
        using (var tree = CrashedMachine(segfaults: 3))
            Assert.Equal(HealthSeverity.Info, One(tree.Root, "KD1203").Severity);
    }

    [Fact]
    public void LogErrors_CountsTheOriginToolsPatterns()
    {
        using var tree = CrashedMachine();
        var f = One(tree.Root, "KD1201");
        Assert.Contains("segfault 25", f.Message);
        Assert.Contains("Out of memory", f.Message);
        var chart = Assert.Single(f.Evidence.OfType<ReportChart>());
        Assert.Contains(chart.Points, p => p.Label == "BUG" && p.Value == 1);
    }

    [Fact]
    public void SnapshotWithoutLog_IsInfoNotACrash()
    {
        var f = One(FixtureTree.Open("inventory", "web1"), "KD1103");
        Assert.Equal(HealthSeverity.Info, f.Severity);
        Assert.Contains("could not be checked", f.Message);
    }
}

public class HealthBpfCheckTests
{
    [Fact]
    public void SyscallSample_ListsTheCostliestWithAHistogramChart()
    {
        using var stop = new CancellationTokenSource();
        // Our own sleeping thread (a blocking wait, in our own process: both set aside) and another process making
        // plain non-waiting calls (the shell's builtin test stats a path).
        var busy = new Thread(() => { while (!stop.IsCancellationRequested) Thread.Sleep(1); }) { IsBackground = true };
        busy.Start();
        using var statter = System.Diagnostics.Process.Start("sh", ["-c", "while :; do test -e /; done"]);
        try
        {
            var ctx = new HealthContext(KernelRoot.Live, new HealthThresholds(), TimeSpan.FromMilliseconds(500), CancellationToken.None);
            var f = Assert.Single(HealthCheckRunner.Run([HealthChecks.SyscallSample], ctx));
            Assert.Contains(f.Severity, new[] { HealthSeverity.Info, HealthSeverity.Warning });
            var records = f.Evidence.OfType<KernelDebug.Core.Bpf.SyscallLatency>().ToList();
            Assert.NotEmpty(records);
            Assert.Equal(records.OrderByDescending(r => r.Total).Select(r => r.Syscall), records.Select(r => r.Syscall));
            var chart = HealthCharts.From([f]).First(c => c.Kind == "histogram");
            Assert.Contains("latency", chart.Title);
            Assert.Equal((double)records[0].Histogram.Count, chart.Points.Sum(p => p.Value));
            // Row 14 of issue 18: not the module's own calls, no idle waits ranked, and it says what was sampled.
            Assert.DoesNotContain(records, r => r.ProcessId == Environment.ProcessId);
            Assert.DoesNotContain(records, r => HealthChecks.BlockingWaits.Contains(r.Syscall));
            Assert.Contains($"except KernelDebug's own (PID {Environment.ProcessId})", f.Message);
            Assert.Contains("blocking-wait", f.Message);
        }
        finally { stop.Cancel(); busy.Join(); statter.Kill(); statter.WaitForExit(); }
    }

    [Fact]
    public void ReclaimStalls_NameTheProcessReadingPastItsCgroupLimit_WithAChart()
    {
        using var cg = KernelDebug.TestSupport.MemoryCgroup.Create("kd-reclaim-health", 64L << 20);
        string file = Path.Combine(AppContext.BaseDirectory, $"reclaim-health-{Environment.ProcessId}.bin");
        try
        {
            using (var f = File.Create(file)) f.SetLength(1L << 30);
            // Started beside the check's 1.5 s sample: a child reading a 1 GiB sparse file through a 64 MiB limit.
            using var reader = cg.Start($"sh -c 'sleep 0.3; exec dd if={file} of=/dev/null bs=1M status=none'");
            var ctx = new HealthContext(KernelRoot.Live, new HealthThresholds(), TimeSpan.FromSeconds(1.5), CancellationToken.None);
            var finding = Assert.Single(HealthCheckRunner.Run([HealthChecks.ReclaimStalls], ctx));
            reader.WaitForExit(60_000);
            Assert.Contains(finding.Severity, new[] { HealthSeverity.Info, HealthSeverity.Warning });
            var records = finding.Evidence.OfType<KernelDebug.Core.Bpf.Tools.MemoryReclaim>().ToList();
            var ours = Assert.Single(records, r => r.ProcessId == reader.Id);
            Assert.Equal(KernelDebug.Core.Bpf.Tools.ReclaimKind.Memcg, ours.Kind);
            Assert.Contains($"({reader.Id})", finding.Message);
            var chart = HealthCharts.From([finding]).Single(c => c.Title.Contains("reclaim stalls"));
            Assert.Equal((double)records[0].Histogram.Count, chart.Points.Sum(p => p.Value));
        }
        finally
        {
            File.Delete(file);
        }
    }
}

public class HealthReportAxisTests
{
    [Theory]
    [InlineData(12)]
    [InlineData(24)]
    [InlineData(40)]
    public void HistogramAxisLabels_DoNotOverlap(int bars)
    {
        // Log2 bucket labels as the syscall histogram has them: widening numbers ("16-31", ..., "4194304-8388607").
        var points = Enumerable.Range(0, bars).Select(i => new ChartPoint($"{1L << i}-{(1L << (i + 1)) - 1}", i + 1)).ToList();
        var chart = new ReportChart("read latency", "usecs", "histogram", points);
        string html = HealthReportWriter.Render(null, [], [chart], DateTimeOffset.Now);
        var labels = System.Text.RegularExpressions.Regex.Matches(html, "<text x=\"([0-9.]+)\" y=\"[0-9.]+\" text-anchor=\"middle\" class=\"small\">([^<]+)</text>")
            .Select(m => (X: double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), Text: m.Groups[2].Value)).ToList();
        Assert.True(labels.Count >= 2, "some bars are labelled");
        // 10 px sans-serif digits are at most ~6 px wide: centred labels overlap when their centres are closer than their half-widths.
        for (int i = 1; i < labels.Count; i++)
            Assert.True(labels[i].X - labels[i - 1].X >= (labels[i].Text.Length + labels[i - 1].Text.Length) / 2.0 * 6.0 + 2,
                $"'{labels[i - 1].Text}' at {labels[i - 1].X} and '{labels[i].Text}' at {labels[i].X} overlap");
    }
}
