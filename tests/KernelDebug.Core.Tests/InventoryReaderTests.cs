using System.IO.Compression;
using KernelDebug.Core;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Inventory;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Procfs;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests;

public class KernelConfigTests
{
    [Fact]
    public void Fixture_FallsBackToBootConfig_AndTypesValues()
    {
        var root = FixtureTree.Open("inventory", "db1");
        Assert.Equal("boot/config-6.1.0-18-amd64", KernelConfigReader.Locate(root));
        var ctx = new ParseContext("x");
        var c = KernelConfigReader.Read(root, ctx);
        Assert.Empty(ctx.Issues);
        Assert.Equal(KernelConfigKind.BuiltIn, c["CONFIG_KPROBES"]!.Kind);
        Assert.Equal(KernelConfigKind.Module, c["EXT4_FS"]!.Kind);
        Assert.Equal(KernelConfigKind.NotSet, c["KASAN"]!.Kind);
        Assert.Equal("n", c["KASAN"]!.Value);
        Assert.Equal(250, c["HZ"]!.Number);
        Assert.Equal(0x1000000, c["PHYSICAL_START"]!.Number);
        Assert.Equal("gcc-12 (Debian 12.2.0-14) 12.2.0", c["CC_VERSION_TEXT"]!.Value);
        Assert.Equal(KernelConfigKind.String, c["LOCALVERSION"]!.Kind);
        Assert.Equal("", c["LOCALVERSION"]!.Value);
        Assert.Null(c["NOT_MENTIONED"]);
        Assert.False(c.IsEnabled("NOT_MENTIONED"));
    }

    [Fact]
    public void Live_ReadsProcConfigGz_AsZcatDoes()
    {
        if (!File.Exists("/proc/config.gz")) Assert.Skip("this kernel has no /proc/config.gz (CONFIG_IKCONFIG_PROC)");
        var c = KernelConfigReader.Read(KernelRoot.Live, new ParseContext("live"));
        using var gz = new GZipStream(File.OpenRead("/proc/config.gz"), CompressionMode.Decompress);
        var lines = new StreamReader(gz).ReadToEnd().Split('\n');
        int set = lines.Count(l => l.StartsWith("CONFIG_")), notSet = lines.Count(l => l.StartsWith("# CONFIG_") && l.EndsWith(" is not set"));
        Assert.Equal(set + notSet, c.Options.Count);
        // The facts the capability tests rely on, read independently here.
        Assert.Equal(lines.Contains("CONFIG_KPROBES=y"), c.IsEnabled("KPROBES"));
    }

    [Fact]
    public void Missing_ErrorNamesIkconfigProc()
    {
        using var tree = FixtureTree.Create().File("proc/sys/kernel/osrelease", "6.9.0\n");
        var e = Assert.Throws<KernelDebugException>(() => KernelConfigReader.Read(tree.Root, new ParseContext("x")));
        Assert.Equal("KernelConfigNotFound", e.ErrorId);
        Assert.Equal(KernelErrorCategory.ObjectNotFound, e.Category);
        Assert.Contains("CONFIG_IKCONFIG_PROC", e.Remedy);
        Assert.Contains("boot/config-", e.Message);
    }

    [Fact]
    public void TruncatedAndGarbage_WarnWithLineNumbers()
    {
        string text = File.ReadAllText(TestPaths.Fixture("inventory", "db1", "boot", "config-6.1.0-18-amd64"));
        var ctx = new ParseContext("config");
        var full = KernelConfigParser.Parse(new StringReader(text), ctx);
        var cut = KernelConfigParser.Parse(new StringReader(Mangle.Truncate(text)), new ParseContext("config"));
        Assert.InRange(cut.Count, 1, full.Count);
        var g = new ParseContext("config");
        var garbage = KernelConfigParser.Parse(new StringReader(Mangle.Garbage(text, 5) + "\nCONFIG_BAD=what ever\nnot a line"), g);
        Assert.NotEmpty(g.Issues);
        Assert.All(g.Issues, i => Assert.True(i.LineNumber > 0 && i.Source == "config"));
        Assert.Contains(g.Issues, i => i.Text == "not a line");
        Assert.True(garbage.Count < full.Count + 5);
    }
}

public class MemInfoTests
{
    [Fact]
    public void Fixture_BytesUsedAndHugePages()
    {
        var ctx = new ParseContext("x");
        var m = MemInfoReader.Read(FixtureTree.Open("inventory", "db1"), ctx);
        Assert.Empty(ctx.Issues);
        Assert.Equal(65536000L * 1024, m.MemTotal);
        Assert.Equal((65536000L - 40960000L) * 1024, m.Used);
        Assert.Equal(37.5, m.UsedPercent);
        Assert.Equal(2048000L * 1024, m.SlabReclaimable);
        Assert.Equal(1024000L * 1024, m.SlabUnreclaimable);
        Assert.Equal(1024, m.HugePagesTotal);
        Assert.Equal(16, m.HugePagesReserved);
        Assert.Equal(2048L * 1024, m.HugePageSize);
        Assert.Equal(34359738367L * 1024, m.Values["VmallocTotal"]);
    }

    [Fact]
    public void Fixture_Nodes()
    {
        var nodes = MemInfoReader.ReadNodes(FixtureTree.Open("inventory", "db1"), new ParseContext("x"));
        Assert.Equal(new int?[] { 0, 1 }, nodes.Select(n => n.Node));
        Assert.Null(nodes[0].MemAvailable);
        Assert.Equal((32768000L - 4096000 - 15360000 - 1024000) * 1024, nodes[0].Used);
        Assert.Equal(512, nodes[1].HugePagesTotal);
    }

    [Fact]
    public void Live_TotalEqualsProcMeminfo()
    {
        var m = MemInfoReader.Read(KernelRoot.Live, new ParseContext("live"));
        string line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:"));
        long kb = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        Assert.Equal(kb * 1024, m.MemTotal);
        Assert.Equal(m.MemTotal - m.MemAvailable, m.Used);
    }

    [Fact]
    public void Live_NodesAddUpToAtMostTheTotal()
    {
        if (!Directory.Exists("/sys/devices/system/node/node0")) Assert.Skip("no NUMA node directories (CONFIG_NUMA off)");
        var nodes = MemInfoReader.ReadNodes(KernelRoot.Live, new ParseContext("live"));
        var all = MemInfoReader.Read(KernelRoot.Live, new ParseContext("live"));
        Assert.All(nodes, n => Assert.True(n.MemTotal > 0));
        Assert.True(nodes.Sum(n => n.MemTotal!.Value) <= all.MemTotal + 64L * 1024 * 1024 * 1024);
    }

    [Fact]
    public void TruncatedAndGarbage_Warn()
    {
        string text = File.ReadAllText(TestPaths.Fixture("inventory", "db1", "proc", "meminfo"));
        var t = MemInfoParser.Parse(Mangle.Truncate(text, 0.5), new ParseContext("meminfo"));
        Assert.NotNull(t.MemTotal);
        var ctx = new ParseContext("meminfo");
        MemInfoParser.Parse(Mangle.Garbage(text, 2) + "\nMemFree: many kB\nSwapFree: 12 MB", ctx);
        Assert.Contains(ctx.Issues, i => i.Message.Contains("MemFree"));
        Assert.Contains(ctx.Issues, i => i.Message.Contains("unit"));
        Assert.All(ctx.Issues, i => Assert.Equal("meminfo", i.Source));
        var none = new ParseContext("m");
        Assert.Null(MemInfoParser.Parse("Cached: 12 kB", none).MemTotal);
        Assert.Contains(none.Issues, i => i.Message.Contains("MemTotal"));
    }
}

public class ProcStatTests
{
    [Fact]
    public void Fixture_SinceBootAndBetween()
    {
        var ctx = new ParseContext("stat");
        var s = ProcStatReader.Read(FixtureTree.Open("inventory", "db1"), ctx);
        Assert.Empty(ctx.Issues);
        Assert.Equal(8, s.PerCpu.Count);
        Assert.Equal(20000000UL, s.ContextSwitches);
        Assert.Equal(2, s.ProcsBlocked);
        var times = CpuStatCalculator.SinceBoot(s, perCpu: true).ToList();
        Assert.Equal(9, times.Count);
        Assert.Equal(TimeSpan.FromSeconds((400000 - 500) / 100.0), times[0].User);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1732100000), times[0].BootTime);

        // A second reading 1 s later with 150 user, 50 system and 0 idle ticks of 200.
        var later = s with
        {
            All = s.All with { User = s.All.User + 150, System = s.All.System + 50 },
            ContextSwitches = s.ContextSwitches + 5000, Forks = s.Forks + 20, Interrupts = s.Interrupts + 1000,
        };
        var u = CpuStatCalculator.Between(s, later, TimeSpan.FromSeconds(1), DateTimeOffset.UnixEpoch, perCpu: false).Single();
        Assert.Equal(75, u.UserPercent);
        Assert.Equal(25, u.SystemPercent);
        Assert.Equal(100, u.BusyPercent);
        Assert.Equal(5000, u.ContextSwitchesPerSecond);
        Assert.Equal(20, u.ForksPerSecond);
    }

    [Fact]
    public void TruncatedAndGarbage_Warn()
    {
        string text = File.ReadAllText(TestPaths.Fixture("inventory", "db1", "proc", "stat"));
        var t = new ParseContext("stat");
        ProcStatParser.Parse(Mangle.Truncate(text, 0.3), t);
        var ctx = new ParseContext("stat");
        ProcStatParser.Parse(Mangle.Garbage(text, 4) + "\ncpu9 1 2 x\nctxt lots", ctx);
        Assert.Contains(ctx.Issues, i => i.Message.Contains("cpu line"));
        Assert.Contains(ctx.Issues, i => i.Text == "ctxt lots");
        var empty = new ParseContext("stat");
        ProcStatParser.Parse("", empty);
        Assert.Contains(empty.Issues, i => i.Message.Contains("cpu"));
    }

    [Fact]
    public void Live_BurningThreadShowsAsUserTime()
    {
        using var stop = new CancellationTokenSource();
        var burner = new Thread(() => { double x = 1; while (!stop.IsCancellationRequested) x = Math.Sqrt(x + 1); GC.KeepAlive(x); }) { IsBackground = true };
        burner.Start();
        Thread.Sleep(100);
        var a = ProcStatReader.Read(KernelRoot.Live, new ParseContext("live"));
        ulong selfA = SelfUserTicks();
        Thread.Sleep(1000);
        var b = ProcStatReader.Read(KernelRoot.Live, new ParseContext("live"));
        ulong selfB = SelfUserTicks();
        stop.Cancel();
        burner.Join();
        ulong mine = selfB - selfA, machine = b.All.User - a.All.User;
        Assert.True(mine >= 5, $"the burning thread got {mine} user ticks in 1 s");
        // Our process is part of the machine: its user time is in the machine's (2 ticks of sampling slack).
        Assert.True(machine + 2 >= mine, $"machine user {machine} ticks < this process {mine}");
        var u = CpuStatCalculator.Between(a, b, TimeSpan.FromSeconds(1), DateTimeOffset.Now, false).Single();
        Assert.True(u.UserPercent > 0);
    }

    private static ulong SelfUserTicks()
    {
        string s = File.ReadAllText("/proc/self/stat");
        var f = s[(s.LastIndexOf(')') + 2)..].Split(' ');
        return ulong.Parse(f[11]); // field 14 (utime); f[0] is field 3
    }
}

public class LoadAverageTests
{
    [Fact]
    public void Fixture_PerCpu()
    {
        var ctx = new ParseContext("x");
        var l = LoadAverageParser.Read(FixtureTree.Open("inventory", "db1"), ctx);
        Assert.Empty(ctx.Issues);
        Assert.Equal(3.2, l.Load1);
        Assert.Equal(8, l.CpuCount);
        Assert.Equal(0.4, l.Load1PerCpu);
        Assert.Equal(0.2, l.Load15PerCpu);
        Assert.Equal(3, l.Running);
        Assert.Equal(812, l.Total);
        Assert.Equal(45678, l.LastPid);
    }

    [Fact]
    public void Live_MatchesProcLoadavg()
    {
        var l = LoadAverageParser.Read(KernelRoot.Live, new ParseContext("live"));
        var f = File.ReadAllText("/proc/loadavg").Split(' ');
        Assert.True(l.Total > 0 && l.Running >= 1);
        Assert.Equal(Environment.ProcessorCount, l.CpuCount);
        Assert.True(Math.Abs(l.Load15 - double.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture)) < 1.0);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0.52 0.58")]
    [InlineData("a b c 1/2 3")]
    [InlineData("0.5 0.5 0.5 12 3")]
    public void TruncatedAndGarbage_Warn(string text)
    {
        var ctx = new ParseContext("loadavg");
        LoadAverageParser.Parse(text, ctx, 2);
        var issue = Assert.Single(ctx.Issues);
        Assert.Equal(1, issue.LineNumber);
    }
}

public class PressureStallTests
{
    [Fact]
    public void Fixture_SystemWide()
    {
        var ctx = new ParseContext("x");
        var p = PressureStallParser.Read(FixtureTree.Open("inventory", "db1"), null, null, ctx);
        Assert.Empty(ctx.Issues);
        Assert.Equal(new[] { "cpu", "memory", "io" }, p.Select(x => x.Resource));
        var io = p.Single(x => x.Resource == "io");
        Assert.Equal(20, io.SomeAvg10);
        Assert.Equal(TimeSpan.FromSeconds(5000), io.SomeTotal);
        Assert.Equal(TimeSpan.FromSeconds(4000), io.FullTotal);
    }

    [Fact]
    public void Fixture_Cgroup_AndNamedMissingResource()
    {
        var root = FixtureTree.Open("inventory", "db1");
        var errors = new List<KernelDebugException>();
        var p = PressureStallParser.Read(root, ["memory", "io", "cpu"], "/system.slice/postgresql.service", new ParseContext("x"), errors.Add);
        Assert.Equal(new[] { "memory", "io" }, p.Select(x => x.Resource));
        Assert.All(p, x => Assert.Equal("/system.slice/postgresql.service", x.Cgroup));
        Assert.Equal(30, p[0].SomeAvg10);
        var e = Assert.Single(errors);
        Assert.Equal("KernelFileNotFound", e.ErrorId);
        var nf = Assert.Throws<KernelDebugException>(() => PressureStallParser.Read(root, null, "/nope", new ParseContext("x")));
        Assert.Equal("CgroupNotFound", nf.ErrorId);
    }

    [Fact]
    public void NoPsi_ErrorNamesConfigPsi()
    {
        using var tree = FixtureTree.Create().File("proc/loadavg", "0 0 0 1/1 1");
        var e = Assert.Throws<KernelDebugException>(() => PressureStallParser.Read(tree.Root, null, null, new ParseContext("x")));
        Assert.Equal("PressureStallUnavailable", e.ErrorId);
        Assert.Contains("CONFIG_PSI", e.Remedy);
    }

    [Fact]
    public void Live_ReadsWhatTheKernelHas()
    {
        if (!Directory.Exists("/proc/pressure")) Assert.Skip("this kernel has no PSI (/proc/pressure)");
        var p = PressureStallParser.Read(KernelRoot.Live, null, null, new ParseContext("live"));
        Assert.Contains(p, x => x.Resource == "cpu");
        Assert.All(p, x => Assert.InRange(x.SomeAvg300, 0, 100));
        Assert.Equal(File.Exists("/proc/pressure/irq"), p.Any(x => x.Resource == "irq"));
    }

    [Fact]
    public void TruncatedAndGarbage_Warn()
    {
        string text = File.ReadAllText(TestPaths.Fixture("inventory", "db1", "proc", "pressure", "io"));
        var t = new ParseContext("io");
        PressureStallParser.Parse(Mangle.Truncate(text, 0.3), "io", null, t);
        Assert.NotEmpty(t.Issues);
        var g = new ParseContext("io");
        PressureStallParser.Parse(Mangle.Garbage(text, 7) + "\nsome avg10=x avg60=1 avg300=1 total=1\nhalf", "io", null, g);
        Assert.Contains(g.Issues, i => i.Message.Contains("avg10"));
        Assert.Contains(g.Issues, i => i.Text == "half");
    }
}

public class SysctlTests
{
    [Fact]
    public void Lockdown_FallsBackToCommandLineAndConfig()
    {
        using var tree = FixtureTree.Create().File("proc/cmdline", "root=/dev/sda lockdown=confidentiality");
        Assert.Equal(("confidentiality", "the kernel command line"), KernelLockdown.Read(tree.Root, () => null));
        var db1 = FixtureTree.Open("inventory", "db1");
        Assert.Equal("none", KernelLockdown.Read(db1, () => KernelConfigReader.TryRead(db1)).Mode);
        var live = KernelLockdown.Read(KernelRoot.Live, () => KernelConfigReader.TryRead(KernelRoot.Live));
        if (File.Exists("/sys/kernel/security/lockdown"))
            Assert.Contains("[" + live.Mode + "]", File.ReadAllText("/sys/kernel/security/lockdown"));
        else if (KernelConfigReader.TryRead(KernelRoot.Live)?.IsEnabled("LOCK_DOWN_KERNEL_FORCE_INTEGRITY") == true)
            Assert.Equal("integrity", live.Mode);
    }

    [Fact]
    public void Fixture_DottedNamesValuesAndModes()
    {
        // git keeps no write bits, so the read-only mode of kernel.ngroups_max is set here.
        using var tree = FixtureTree.CopyOf("inventory", "db1");
        File.SetUnixFileMode(Path.Combine(tree.Path, "proc/sys/kernel/ngroups_max"), UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var all = SysctlReader.Read(tree.Root, null);
        var rp = Assert.Single(all, e => e.Name == "net.ipv4.conf.eth0.rp_filter");
        Assert.Equal("2", rp.Value);
        Assert.Equal("4096\t16384\t4194304", all.Single(e => e.Name == "net.ipv4.tcp_rmem").Value);
        Assert.False(all.Single(e => e.Name == "kernel.ngroups_max").Writable);
        Assert.True(all.Single(e => e.Name == "vm.swappiness").Writable);
        Assert.Equal(all.Select(e => e.Name).Order(StringComparer.Ordinal), all.Select(e => e.Name));
    }

    [Fact]
    public void Live_MatchesFiles_AndSkipsUnreadable()
    {
        var skipped = new List<string>();
        var all = SysctlReader.Read(KernelRoot.Live, null, (n, _) => skipped.Add(n));
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/osrelease").Trim(), all.Single(e => e.Name == "kernel.osrelease").Value);
        Assert.False(all.Single(e => e.Name == "kernel.osrelease").Writable);
        Assert.True(all.Single(e => e.Name == "kernel.panic").Writable);
        // vm.drop_caches is write-only: never read, never an error.
        Assert.DoesNotContain(all, e => e.Name == "vm.drop_caches");
        Assert.Contains("vm.drop_caches", skipped);
        Assert.Equal("kernel.panic", SysctlReader.TryGet(KernelRoot.Live, "kernel.panic")!.Name);
        Assert.Null(SysctlReader.TryGet(KernelRoot.Live, "kernel.no_such_thing"));
    }

    [Theory]
    [InlineData("net/ipv4/conf/eth0.100/rp_filter", "net.ipv4.conf.eth0/100.rp_filter")]
    [InlineData("kernel/panic", "kernel.panic")]
    public void DottedForm_RoundTrips(string path, string dotted)
    {
        Assert.Equal(dotted, SysctlReader.ToDotted(path));
        Assert.Equal(path, SysctlReader.FromDotted(dotted));
    }
}
