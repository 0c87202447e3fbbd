using System.Diagnostics;
using KernelDebug.Core;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Kmsg;
using KernelDebug.Core.Locking;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Procfs;
using KernelDebug.Core.Sysfs;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests;

public class LockStatTests
{
    private static string Text => File.ReadAllText(TestPaths.Fixture("memory", "lockdep", "proc", "lock_stat"));

    [Fact]
    public void Fixture_ParsesClassesSidesAndPoints()
    {
        var ctx = new ParseContext("lock_stat");
        var locks = LockReader.ReadLockStat(FixtureTree.Open("memory", "lockdep"), ctx, out bool? collecting);
        Assert.Empty(ctx.Issues);
        Assert.True(collecting);
        Assert.Equal(new[] { "&mm->mmap_sem", "&mm->mmap_sem", "unix_table_lock", "&rq->lock", "&rq->lock/1" }, locks.Select(l => l.Class));
        var w = locks[0];
        Assert.Equal("Write", w.Access);
        Assert.Equal("Read", locks[1].Access);
        Assert.Equal(84, w.Contentions);
        Assert.Equal(2922365, w.Acquisitions);
        Assert.Equal(TimeSpan.FromTicks(9391), w.WaitTimeMax);          // 939.10 us
        Assert.Equal(17464026916.32, w.HoldTimeTotal.TotalMicroseconds, 0);
        Assert.Equal(4, w.ContentionPoints.Count);
        Assert.Equal(4, w.ContendingPoints.Count);
        Assert.Same(w.ContentionPoints, w.ContentionPoints);
        Assert.Equal(locks[1].ContentionPoints.Select(p => p.Frame!.Function), w.ContentionPoints.Select(p => p.Frame!.Function));
        Assert.Equal("__do_page_fault", w.ContentionPoints[1].Frame!.Function);
        Assert.Equal(96, w.ContentionPoints[1].Count);
        Assert.Equal(0xffffffff815351c4UL, w.ContentionPoints[1].Address);
        var sub = locks[4];
        Assert.Single(sub.ContentionPoints);
        Assert.Equal(4, sub.ContendingPoints.Count);
        Assert.Null(locks[2].Access);
    }

    [Fact]
    public void TruncatedAndGarbage_WarnNeverThrow()
    {
        var t = new ParseContext("t");
        var truncated = LockStatParser.Parse(Mangle.Truncate(Text, 0.5), t);
        Assert.NotEmpty(truncated);
        Assert.NotEmpty(t.Issues);
        var g = new ParseContext("g");
        LockStatParser.Parse(Mangle.Garbage(Text, 4), g);
        Assert.NotEmpty(g.Issues);
        for (int seed = 0; seed < 30; seed++) LockStatParser.Parse(Mangle.RandomText(600, seed), new ParseContext("r"));
        var v = new ParseContext("v");
        LockStatParser.Parse("lock_stat version 0.3\n", v);
        Assert.Contains(v.Issues, i => i.Message.Contains("0.3"));
    }

    [Fact]
    public void Lockdep_ClassesAndStatistics()
    {
        var root = FixtureTree.Open("memory", "lockdep");
        var ctx = new ParseContext("lockdep");
        var classes = LockReader.ReadClasses(root, ctx);
        var stats = LockReader.ReadStatistics(root, ctx);
        Assert.Empty(ctx.Issues);
        Assert.Equal(6, classes.Count);
        var hp = classes[0];
        Assert.Equal("cpu_hotplug_lock", hp.Name);
        Assert.Equal(45, hp.ForwardDependencies);
        Assert.Equal(1, hp.BackwardDependencies);
        Assert.Equal("+.+.", hp.Usage);
        Assert.Equal(new[] { "jump_label_mutex", "&rq->__lock" }, hp.DirectDependencies);
        Assert.Equal("(wq_completion)events", classes[4].Name);
        Assert.Equal("&mm->mmap_lock#2", classes[5].Name);
        var lc = stats.Single(s => s.Name == "lock-classes");
        Assert.Equal(1616, lc.Value);
        Assert.Equal(8192, lc.Maximum);
        Assert.Null(stats.Single(s => s.Name == "indirect dependencies").Maximum);
        Assert.Equal(16, stats.Count);
    }

    [Fact]
    public void Lockdep_GarbageWarns()
    {
        string classes = File.ReadAllText(TestPaths.Fixture("memory", "lockdep", "proc", "lockdep"));
        string stats = File.ReadAllText(TestPaths.Fixture("memory", "lockdep", "proc", "lockdep_stats"));
        var g = new ParseContext("g");
        LockdepParser.ParseClasses(Mangle.Garbage(classes, 3), g);
        LockdepParser.ParseStatistics(Mangle.Garbage(stats, 3), g);
        Assert.NotEmpty(g.Issues);
        var t = new ParseContext("t");
        Assert.NotEmpty(LockdepParser.ParseStatistics(Mangle.Truncate(stats) + "\nbroken line", t));
        Assert.NotEmpty(t.Issues);
    }

    [Fact]
    public void Live_NoLockStat_ErrorNamesConfigOption()
    {
        if (File.Exists("/proc/lock_stat")) Assert.Skip("this kernel has CONFIG_LOCK_STAT");
        var e = Assert.Throws<KernelDebugException>(() => LockReader.ReadLockStat(KernelRoot.Live, new ParseContext("x"), out _));
        Assert.Equal("LockStatUnavailable", e.ErrorId);
        Assert.Equal(KernelErrorCategory.NotImplemented, e.Category);
        Assert.Contains("CONFIG_LOCK_STAT", e.Remedy);
        var d = Assert.Throws<KernelDebugException>(() => LockReader.ReadClasses(KernelRoot.Live, new ParseContext("x")));
        Assert.Contains("CONFIG_LOCKDEP", d.Remedy);
    }
}

public class EdacTests
{
    [Fact]
    public void Fixture_ControllersModulesAndLegacyRows()
    {
        var ctx = new ParseContext("edac");
        var mcs = EdacSysfs.Read(FixtureTree.Open("memory", "edac"), ctx);
        Assert.Empty(ctx.Issues);
        Assert.Equal(new[] { "mc0", "mc1", "mc2" }, mcs.Select(m => m.Controller));
        var mc0 = mcs[0];
        Assert.Equal("Skylake Socket#0 IMC#0", mc0.Name);
        Assert.Equal(65536L << 20, mc0.SizeBytes);
        Assert.Equal(17, mc0.CorrectedErrors);
        Assert.Equal(2, mc0.CorrectedNoInfo);
        Assert.Equal(TimeSpan.FromDays(10), mc0.SinceReset);
        Assert.Equal(4, mc0.Dimms.Count);
        var d1 = mc0.Dimms[1];
        Assert.Equal("dimm1", d1.Name);
        Assert.Equal("CPU_SrcID#0_MC#0_Chan#0_DIMM#1", d1.Label);
        Assert.Equal("channel 0 slot 1", d1.Location);
        Assert.Equal(16384L << 20, d1.SizeBytes);
        Assert.Equal("Registered-DDR4", d1.MemoryType);
        Assert.Equal(15, d1.CorrectedErrors);
        Assert.Equal(1, mc0.Dimms[3].UncorrectedErrors);
        Assert.Equal(new[] { "rank0", "rank1" }, mcs[1].Dimms.Select(d => d.Name));
        var legacy = mcs[2].Dimms;
        Assert.Equal(new[] { "csrow0/ch0", "csrow0/ch1", "csrow1/ch0", "csrow1/ch1" }, legacy.Select(d => d.Name));
        Assert.Equal("DIMM_B2", legacy[3].Label);
        Assert.Equal(3, legacy[3].CorrectedErrors);
        Assert.Equal(mcs[2].CorrectedErrors, legacy.Sum(d => d.CorrectedErrors));
        Assert.Equal(new EdacPciCounters(0, 2), EdacSysfs.ReadPci(FixtureTree.Open("memory", "edac"), ctx));
    }

    [Fact]
    public void Changes_ReportNewErrorsOnly()
    {
        using var tree = FixtureTree.CopyOf("memory", "edac");
        var before = EdacSysfs.Read(tree.Root, new ParseContext("a"));
        tree.File("sys/devices/system/edac/mc/mc0/dimm1/dimm_ce_count", "18\n")
            .File("sys/devices/system/edac/mc/mc0/ue_noinfo_count", "1\n");
        var after = EdacSysfs.Read(tree.Root, new ParseContext("b"));
        var changes = EdacSysfs.Changes(before, after, DateTimeOffset.Now);
        Assert.Equal(2, changes.Count);
        Assert.Equal(("dimm1", 3L, 0L), (changes[0].Dimm, changes[0].NewCorrected, changes[0].NewUncorrected));
        Assert.Null(changes[1].Dimm);
        Assert.Equal(1, changes[1].NewUncorrected);
    }

    [Fact]
    public void TruncatedAndGarbageValues_Warn()
    {
        using var tree = FixtureTree.CopyOf("memory", "edac");
        tree.File("sys/devices/system/edac/mc/mc0/dimm0/dimm_ce_count", Mangle.Garbage("12\n", 1) + "zz")
            .File("sys/devices/system/edac/mc/mc0/size_mb", Mangle.Truncate("65536 extra", 0.9));
        var ctx = new ParseContext("g");
        var mcs = EdacSysfs.Read(tree.Root, ctx);
        Assert.Equal(2, ctx.Issues.Count);
        Assert.Null(mcs[0].SizeBytes);
        Assert.Equal(0, mcs[0].Dimms[0].CorrectedErrors);
    }

    [Fact]
    public void Live_NoEdac_ErrorNamesConfigAndDriver()
    {
        if (Directory.Exists("/sys/devices/system/edac")) Assert.Skip("this kernel has EDAC");
        var e = Assert.Throws<KernelDebugException>(() => EdacSysfs.Read(KernelRoot.Live, new ParseContext("x")));
        Assert.Equal("EdacUnavailable", e.ErrorId);
        Assert.Contains("CONFIG_EDAC", e.Remedy);
        Assert.Contains("modprobe", e.Remedy);
    }
}

public class MachineCheckTests
{
    private static string Log => File.ReadAllText(TestPaths.Fixture("memory", "mce", "dmesg.txt"));

    [Fact]
    public void Fixture_ParsesAndDecodesRecords()
    {
        var ctx = new ParseContext("dmesg");
        var m = MachineCheckParser.Parse(Log, ctx);
        Assert.Empty(ctx.Issues);
        Assert.Equal(3, m.Count);
        var ce = m[0];
        Assert.Equal((3, 7), (ce.Cpu, ce.Bank));
        Assert.Equal(0xcc00008000010090UL, ce.Status);
        Assert.Equal("VAL OVER MISCV ADDRV", ce.StatusFlags);
        Assert.Equal(MachineCheckSeverity.Corrected, ce.Severity);
        Assert.Equal(MachineCheckErrorClass.MemoryController, ce.ErrorClass);
        Assert.Equal("MemoryController Read Channel0", ce.ErrorDescription);
        Assert.Equal(0x3fe4b2c40UL, ce.Address);
        Assert.Equal(0x2b7a4e2b1c3fUL, ce.Ppin);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1732008123), ce.Time);
        Assert.Equal(6u, ce.ApicId);
        Assert.Equal(0x2007006u, ce.Microcode);
        Assert.Equal(TimeSpan.FromSeconds(8123.456801), ce.Uptime);
        Assert.False(ce.Exception);

        var fatal = m[1];
        Assert.True(fatal.Exception);
        Assert.Equal(MachineCheckSeverity.Fatal, fatal.Severity);
        Assert.Equal(MachineCheckErrorClass.Bus, fatal.ErrorClass);
        Assert.Contains("Timeout", fatal.ErrorDescription);
        Assert.Equal(0xffffffff8100a4c6UL, fatal.InstructionPointer);
        Assert.Equal("intel_idle+0x66/0x1a0", fatal.Symbol);
        Assert.False(fatal.InstructionPointerExact);
        Assert.Equal(1, fatal.Socket);
        Assert.Null(fatal.Address);
        // decoder lines after the PROCESSOR line belong to no record here; the parser must not invent one
        Assert.Equal(2, m[2].Vendor);
        Assert.Equal(MachineCheckErrorClass.InternalParity, m[2].ErrorClass);
    }

    [Theory]
    [InlineData(0x0000, MachineCheckErrorClass.None)]
    [InlineData(0x0400, MachineCheckErrorClass.InternalTimer)]
    [InlineData(0x0405, MachineCheckErrorClass.InternalUnclassified)]
    [InlineData(0x0011, MachineCheckErrorClass.Tlb)]
    [InlineData(0x0136, MachineCheckErrorClass.Cache)]
    [InlineData(0x1136, MachineCheckErrorClass.Cache)]
    [InlineData(0x009f, MachineCheckErrorClass.MemoryController)]
    [InlineData(0x0e0b, MachineCheckErrorClass.Bus)]
    public void Classify_FollowsTheSdmEncoding(int code, MachineCheckErrorClass expected) =>
        Assert.Equal(expected, MachineCheckDecoder.Classify(code));

    [Fact]
    public void Describe_CacheFields() => Assert.Equal("Cache L2 Data DataRead", MachineCheckDecoder.Describe(0x0136));

    [Fact]
    public void Snapshot_ReadsDevKmsgRecords()
    {
        var root = FixtureTree.Open("memory", "mce");
        Assert.True(MachineCheckReader.HasMachineCheck(root));
        var ctx = new ParseContext("kmsg");
        var m = MachineCheckReader.ReadKernelLog(root, ctx);
        Assert.Empty(ctx.Issues);
        Assert.Equal(MachineCheckParser.Parse(Log, new ParseContext("x")).Select(x => x.Status), m.Select(x => x.Status));
        var s = MachineCheckReader.ReadSettings(root, ctx)!;
        Assert.Equal(TimeSpan.FromMinutes(5), s.CheckInterval);
        Assert.Equal(TimeSpan.FromSeconds(1), s.MonarchTimeout);
        Assert.Equal(12, s.BankControls.Count);
        Assert.False(s.DontLogCorrected);
        Assert.Null(s.Trigger);
    }

    [Fact]
    public void TruncatedAndGarbage_WarnNeverThrow()
    {
        var t = new ParseContext("t");
        var cut = MachineCheckParser.Parse(Mangle.Truncate(Log, 0.45), t);
        Assert.Single(cut); // the first record is complete, the second cut off before its PROCESSOR line
        var g = new ParseContext("g");
        MachineCheckParser.Parse(Log.Replace("Bank 4: b2", "Bank x: zz") + "\nmce: [Hardware Error]: CPU 1: Machine Check: q Bank", g);
        Assert.Equal(2, g.Issues.Count);
        for (int seed = 0; seed < 20; seed++) MachineCheckParser.Parse(Mangle.Garbage(Log, seed), new ParseContext("r"));
    }

    [Fact]
    public void Live_NoMachineCheck_ErrorNamesConfigX86Mce()
    {
        if (MachineCheckReader.HasMachineCheck(KernelRoot.Live)) Assert.Skip("this kernel has machine-check support");
        var e = MachineCheckReader.Unavailable(KernelRoot.Live);
        Assert.Equal("MachineCheckUnavailable", e.ErrorId);
        Assert.Contains("CONFIG_X86_MCE", e.Remedy);
    }
}

public class TaskParserTests
{
    [Fact]
    public void Stat_CommandWithSpacesAndParens()
    {
        var ctx = new ParseContext("stat");
        string line = "1234 (my (weird) cmd) D 1 1234 1234 0 -1 4194560 100 0 0 0 5 6 0 0 20 0 1 0 98765 1000 10 1 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 7 0 0";
        var s = PidStatParser.Parse(line, ctx)!;
        Assert.Empty(ctx.Issues);
        Assert.Equal("my (weird) cmd", s.Command);
        Assert.Equal(TaskState.UninterruptibleSleep, s.State);
        Assert.Equal(98765UL, s.StartTicks);
        Assert.Equal(7UL, s.BlockIoDelayTicks);
        Assert.False(s.IsKernelThread);
    }

    [Fact]
    public void Stat_LiveSelfMatchesProcess()
    {
        string tid = Path.GetFileName(new DirectoryInfo("/proc/thread-self").LinkTarget!); // "PID/task/TID"
        var s = PidStatParser.Parse(File.ReadAllText("/proc/thread-self/stat"), new ParseContext("self"))!;
        Assert.Equal(int.Parse(tid), s.Id);
        Assert.Equal(File.ReadAllText("/proc/thread-self/comm").Trim(), s.Command);
        Assert.Equal(TaskState.Running, s.State);
    }

    [Fact]
    public void Stack_ParsesFramesWithTheSharedFrameType()
    {
        var ctx = new ParseContext("stack");
        var f = PidStackParser.Parse("[<0>] folio_wait_bit_common+0x13e/0x2f0\n[<ffffffffc0a01234>] xfs_buf_lock+0x30/0xf0 [xfs]\n[<0>] do_syscall_64+0x71/0x280\n", ctx);
        Assert.Empty(ctx.Issues);
        Assert.Equal(3, f.Count);
        Assert.Equal("folio_wait_bit_common", f[0].Function);
        Assert.Equal(0x13e, f[0].Offset);
        Assert.Null(f[0].Address);
        Assert.Equal("xfs", f[1].Module);
        Assert.Equal(0xffffffffc0a01234UL, f[1].Address);
    }

    [Fact]
    public void TruncatedAndGarbage_WarnNeverThrow()
    {
        var ctx = new ParseContext("g");
        Assert.Null(PidStatParser.Parse("12 (x) Q 1 2", ctx));
        Assert.Null(PidStatParser.Parse(Mangle.Truncate("1234 (bash) S 1 1234 1234 0 -1 4194560 100 0 0 0 5 6 0 0 20 0 1 0 98765 1000", 0.5), ctx));
        Assert.Empty(PidStackParser.Parse("[<0 broken\n  \n[<0>] +0x/\n", ctx));
        Assert.True(ctx.Issues.Count >= 4);
        for (int seed = 0; seed < 30; seed++)
        {
            PidStatParser.Parse(Mangle.RandomText(200, seed), ctx);
            PidStackParser.Parse(Mangle.RandomText(200, seed), ctx);
        }
    }

    [Fact]
    public void SinceLastRun_IsTheClockDifference_NeverNegative()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(1500), KernelDebug.Core.Tasks.BlockedTaskReader.SinceLastRun(2500, 1000));
        Assert.Equal(TimeSpan.Zero, KernelDebug.Core.Tasks.BlockedTaskReader.SinceLastRun(1000, 1000.5));
    }

    [Fact]
    public void Stat_LastCpu_IsAnOnlineCpu()
    {
        var s = PidStatParser.Parse(File.ReadAllText("/proc/thread-self/stat"), new ParseContext("self"))!;
        Assert.InRange(s.LastCpu, 0, Environment.ProcessorCount - 1);
    }

    [Fact]
    public void Cgroup_PrefersV2()
    {
        Assert.Equal("/system.slice/x.service", PidCgroupParser.Parse("12:cpu:/old\n0::/system.slice/x.service\n"));
        Assert.Equal("/old", PidCgroupParser.Parse("12:cpu:/old\n"));
        Assert.Null(PidCgroupParser.Parse("garbage"));
    }
}
