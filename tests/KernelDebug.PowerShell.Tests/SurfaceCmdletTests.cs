using System.Management.Automation;
using KernelDebug.Core.Health;
using KernelDebug.Core.Inventory;
using KernelDebug.Core.Procfs;
using KernelDebug.Core.Symbols;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.PowerShell.Tests;

/// <summary>The rules every cmdlet shares: pasted addresses, durations, Get-Counter sampling, names matching nothing, -Root.</summary>
public sealed class SurfaceCmdletTests
{
    private static Dictionary<string, object?> Vars(params (string, object?)[] v) => v.ToDictionary(x => x.Item1, x => x.Item2);

    private static (KernelSymbol Symbol, KernelSymbolTable Table) AFunction()
    {
        var table = KernelSymbolTable.Load(Core.KernelRoot.Live);
        return (table.Symbols.First(s => s.IsFunction && s.Module is null && s.Size > 0x40 && s.Name == "do_sys_openat2"), table);
    }

    // Row 1: the README's unquoted literal, which PowerShell reads as a negative Int32, and every pasted form.
    [Theory]
    [InlineData("0x{0:x}")]      // unquoted literal: PowerShell's Int32/Int64 two's complement
    [InlineData("'0x{0:x}'")]
    [InlineData("'{0:x}'")]      // hex without 0x, as a log prints it
    [InlineData("'[<{0:x}>]'")]  // as a stack trace line prints it
    public void Address_AcceptsWhatPeoplePaste(string form)
    {
        var (sym, _) = AFunction();
        ulong addr = sym.Address + 4;
        var r = PsRunner.Run("Get-KernelSymbol -Address " + string.Format(form, addr));
        Assert.Null(r.Terminating);
        var loc = Assert.Single(r.Objects<SymbolLocation>());
        Assert.Equal(addr, loc.Address);
        Assert.Equal(sym.Name, loc.Symbol.Name);
        Assert.Equal(4, loc.Offset);
    }

    [Fact]
    public void Address_FunctionPlusOffset_ResolvesThroughTheTable()
    {
        var (sym, _) = AFunction();
        var r = PsRunner.Run($"Get-KernelSymbol -Address '{sym.Name}+0x1a/0x{sym.Size:x}'");
        Assert.Null(r.Terminating);
        var loc = Assert.Single(r.Objects<SymbolLocation>());
        Assert.Equal(sym.Address + 0x1a, loc.Address);
        Assert.Equal(0x1a, loc.Offset);
    }

    [Fact]
    public void Address_NotAnAddress_IsABindingErrorThatSaysWhatWorks()
    {
        var r = PsRunner.Run("Get-KernelSymbol -Address 'zz top'");
        Assert.Contains("ParameterArgumentTransformationError", r.Terminating!.FullyQualifiedErrorId);
        Assert.Contains("function+0x1a/0x40".Replace("function", "tcp_sendmsg"), r.Terminating.ToString());
    }

    // Row 2: a bare number is seconds in every cmdlet; zero and negatives get one ErrorId with the remedy.
    [Theory]
    [InlineData("Get-VmStat -Interval 0")]
    [InlineData("Get-CpuStat -Interval -1")]
    [InlineData("Get-SlabCache -Interval 0")]
    [InlineData("Get-BlockedTask -Interval 0")]
    [InlineData("Get-EdacError -Interval 0")]
    [InlineData("Invoke-KernelHealthCheck -SampleInterval 0")]
    [InlineData("Assert-KernelHealth -SampleInterval 0")]
    [InlineData("Trace-KernelEvent -Event sched:sched_switch -Duration 0")]
    [InlineData("Measure-SyscallLatency -Duration 0")]
    [InlineData("Measure-SyscallLatency -Interval '-2s'")]
    [InlineData("Measure-BlockIoLatency -Duration 0")]
    [InlineData("Measure-KernelCpuProfile -Duration 00:00:00")]
    [InlineData("Measure-LockContention -Duration 0")]
    [InlineData("Trace-KernelMemoryLeak -Duration 0")]
    [InlineData("Measure-KernelFunction -Name vfs_read -Duration 0")]
    [InlineData("Measure-LockContention -Duration 1 -MinimumWait -1")]
    public void Duration_ZeroOrNegative_IsOneErrorWithRemedy(string script)
    {
        var r = PsRunner.Run(script);
        Assert.NotNull(r.Terminating);
        Assert.StartsWith("DurationNotPositive,", r.Terminating!.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, r.Terminating.CategoryInfo.Category);
        Assert.Contains("Start-Sleep", r.Terminating.ErrorDetails.RecommendedAction);
    }

    [Theory]
    [InlineData("3", 3.0)]
    [InlineData("0.25", 0.25)]
    [InlineData("500ms", 0.5)]
    [InlineData("2m", 120.0)]
    [InlineData("00:00:07", 7.0)]
    public void Duration_TextForms(string text, double seconds)
    {
        Assert.True(Infrastructure.DurationTransformationAttribute.TryParse(text, out var t));
        Assert.Equal(TimeSpan.FromSeconds(seconds), t);
    }

    // Row 6: Get-Counter's sampling rules in every sampling cmdlet.
    [Theory]
    [InlineData("Get-VmStat -Interval 0.2", 1)]
    [InlineData("Get-VmStat -Interval 0.2 -Count 3", 3)]
    [InlineData("Get-VmStat -Count 2", 2)]
    [InlineData("Get-CpuStat -Interval 0.2", 1)]
    [InlineData("Get-CpuStat -Count 2", 2)]
    public void Sampling_FollowsGetCounter(string script, int records)
    {
        var r = PsRunner.Run(script);
        Assert.Null(r.Terminating);
        Assert.Empty(r.Errors);
        if (script.StartsWith("Get-VmStat")) Assert.Equal(records, r.Objects<VmStatRate>().Count);
        else Assert.Equal(records, r.Objects<CpuUsage>().Count);
    }

    [Theory]
    [InlineData("Get-SlabCache -Count 2 -Interval 0.3")]
    [InlineData("Get-BlockedTask -Count 2 -Interval 0.3")]
    [InlineData("Get-EdacError -Root $edac -Count 2 -Interval 0.3")]
    public void Sampling_CountAlone_TakesNSamples(string script)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var r = PsRunner.Run(script, Vars(("edac", TestPaths.Fixture("memory", "edac"))));
        Assert.Null(r.Terminating);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.6), TimeSpan.FromSeconds(30));
        Assert.Contains(r.Progress, p => p.StatusDescription.Contains("Sample 2 of 2"));
    }

    [Theory]
    [InlineData("Get-VmStat -Interval 0.3")]
    [InlineData("Get-SlabCache -Interval 0.3")]
    [InlineData("Get-BlockedTask -Interval 0.3")]
    [InlineData("Get-CpuStat -Interval 0.3")]
    public void Sampling_IntervalAloneIsOneSample_NotUntilCtrlC(string script)
    {
        var run = Task.Run(() => PsRunner.Run(script));
        Assert.True(run.Wait(TimeSpan.FromSeconds(30)), script + " ran on: -Interval alone must take one sample");
        Assert.Null(run.Result.Terminating);
    }

    [Theory]
    [InlineData("Get-VmStat -Continuous")]
    [InlineData("Get-SlabCache -Continuous")]
    [InlineData("Get-BlockedTask -Continuous -Interval 0.1")]
    public void Sampling_ContinuousRunsUntilStopped(string script)
    {
        var r = PsRunner.RunAndStop(script, TimeSpan.FromSeconds(2.5));
        Assert.Null(r.Terminating);
        Assert.Contains(r.Progress, p => p.StatusDescription.Contains("Ctrl+C"));
    }

    [Theory]
    [InlineData("Get-VmStat -Count 2 -Continuous")]
    [InlineData("Get-CpuStat -Count 2 -Continuous")]
    public void Sampling_CountWithContinuous_IsOneError(string script)
    {
        var r = PsRunner.Run(script);
        Assert.StartsWith("SamplingArgumentsConflict,", r.Terminating!.FullyQualifiedErrorId);
    }

    // Row 10: a plain name that matches nothing is a non-terminating error; a wildcard stays silent.
    [Theory]
    [InlineData("Get-SlabCache -Name kd_nosuch_cache", "SlabCacheNotFound")]
    [InlineData("Get-SlabCache -Name kd_nosuch_cache -Interval 0.1", "SlabCacheNotFound")]
    [InlineData("Get-VmStat -Name kd_nosuch_counter", "VmStatCounterNotFound")]
    [InlineData("Invoke-KernelHealthCheck -CheckId KD9999", "HealthCheckNotFound")]
    [InlineData("Get-KernelSysctl -Name kernel.kd_nosuch", "SysctlNotFound")]
    [InlineData("Get-KernelSymbol -Name kd_nosuch_symbol", "KernelSymbolNotFound")]
    public void Name_MatchingNothing_IsANonTerminatingError(string script, string errorId)
    {
        var r = PsRunner.Run(script + "; 'after'");
        Assert.Null(r.Terminating);
        var e = Assert.Single(r.Errors);
        Assert.StartsWith(errorId + ",", e.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, e.CategoryInfo.Category);
        Assert.Equal("after", r.Output.Last().BaseObject);
    }

    [Theory]
    [InlineData("Get-SlabCache -Name kd_nosuch*")]
    [InlineData("Get-VmStat -Name kd_nosuch*")]
    [InlineData("Invoke-KernelHealthCheck -CheckId KD99*")]
    [InlineData("Get-KernelSymbol -Name kd_nosuch*")]
    public void Name_WildcardMatchingNothing_IsSilent(string script)
    {
        var r = PsRunner.Run(script);
        Assert.Null(r.Terminating);
        Assert.Empty(r.Errors);
        Assert.Empty(r.Output);
    }

    [Fact]
    public void Name_SomeMatch_OnlyTheMissingOneIsReported()
    {
        var r = PsRunner.Run("Get-SlabCache -Name kmalloc-64, kd_nosuch_cache");
        Assert.Contains(r.Objects<SlabCache>(), c => c.Name == "kmalloc-64" || c.Aliases.Contains("kmalloc-64"));
        Assert.Equal("kd_nosuch_cache", Assert.Single(r.Errors).TargetObject);
    }

    // Row 9: an empty or foreign -Root is an error, not a report about a machine nobody read.
    [Theory]
    [InlineData("Invoke-KernelHealthCheck -Root $root")]
    [InlineData("Get-KernelInfo -Root $root")]
    [InlineData("Get-SlabCache -Root $root")]
    [InlineData("Get-KernelDebugCapability -Root $root")]
    public void Root_EmptyOrForeign_IsAnError(string script)
    {
        using var tree = FixtureTree.Create();
        tree.File("etc/hostname", "not-a-kernel-tree\n");
        var r = PsRunner.Run(script, Vars(("root", tree.Path)));
        Assert.StartsWith("KernelRootNotAKernelTree,", r.Terminating!.FullyQualifiedErrorId);
        Assert.Empty(r.Objects<KernelHealthFinding>());
    }

    // Row 4: Get-KernelInfo -Root reads a Save-KernelSnapshot archive directly; the archive has one top folder.
    [Fact]
    public void Root_ReadsASnapshotArchive_WithOneTopFolder()
    {
        using var tmp = FixtureTree.Create();
        string archive = Path.Combine(tmp.Path, "web1.tar.gz");
        var save = PsRunner.Run("Save-KernelSnapshot -Path $a -Root $src | Out-Null; Get-KernelInfo -Root $a",
            Vars(("a", archive), ("src", TestPaths.Fixture("inventory", "db1"))));
        Assert.Null(save.Terminating);
        var info = Assert.Single(save.Objects<KernelInfo>());
        Assert.Equal(KernelInfoReader.Read(new Core.KernelRoot(TestPaths.Fixture("inventory", "db1")), new Core.Parsing.ParseContext("x")).Release, info.Release);
        string unpacked = Path.Combine(tmp.Path, "by-hand");
        Directory.CreateDirectory(unpacked);
        using (var fs = File.OpenRead(archive))
        using (var gz = new System.IO.Compression.GZipStream(fs, System.IO.Compression.CompressionMode.Decompress))
            System.Formats.Tar.TarFile.ExtractToDirectory(gz, unpacked, overwriteFiles: false);
        Assert.Equal(["web1"], Directory.GetFileSystemEntries(unpacked).Select(Path.GetFileName));
        Assert.True(Directory.Exists(Path.Combine(unpacked, "web1", "proc")));
    }
}

/// <summary>Row 7: kernel values look like kernel values in views, Format-List and CSV, and stay numeric for filtering.</summary>
public sealed class KernelValueDisplayTests
{
    private static readonly string Log = TestPaths.Fixture("oops", "null-deref-module.log");

    [Fact]
    public void Oops_RipSelectorIsNotRip_AndAddressesShowInHex()
    {
        var r = PsRunner.Run("Get-KernelOops -Path $p | Select-Object -First 1", new Dictionary<string, object?> { ["p"] = Log });
        var o = Assert.Single(r.Objects<Core.Oops.KernelOops>());
        Assert.Equal("acme_rx_poll", o.InstructionPointer!.Function);
        Assert.False(o.Registers.TryGetValue("RIP", out ulong rip) && rip == 0x10, "the 0010 of 'RIP: 0010:' is the code segment selector, not RIP");
        Assert.Equal(0x10UL, o.FaultAddress);
        Assert.Equal("0x10", o.FaultAddressHex);
    }

    [Fact]
    public void Oops_FormatListAndCsv_ShowHex_WhileFilteringStaysNumeric()
    {
        var vars = new Dictionary<string, object?> { ["p"] = Log };
        string list = string.Concat(PsRunner.Run("Get-KernelOops -Path $p | Select-Object -First 1 | Format-List | Out-String -Width 2000", vars).Output.Select(o => o.ToString()));
        Assert.Matches(@"FaultAddress\s+: 0x10\b", list);
        Assert.Matches(@"Registers\s+: .*CR2=0x10\b", list);
        var csv = PsRunner.Run("Get-KernelOops -Path $p | Select-Object -First 1 | ConvertTo-Csv | ConvertFrom-Csv", vars);
        var row = Assert.Single(csv.Output);
        Assert.Equal("0x10", row.Properties["FaultAddressHex"].Value);
        Assert.Contains("CR2=0x10", (string)row.Properties["Registers"].Value);
        var filtered = PsRunner.Run("@(Get-KernelOops -Path $p | Where-Object FaultAddress -lt 0x1000).Count", vars);
        Assert.True((int)filtered.Output[0].BaseObject > 0);
    }

    [Fact]
    public void MachineCheck_FormatList_ShowsStatusInHex()
    {
        var r = PsRunner.Run("Get-MachineCheck -Path $p | Select-Object -First 1 | Format-List | Out-String -Width 300",
            new Dictionary<string, object?> { ["p"] = TestPaths.Fixture("memory", "mce", "dmesg.txt") });
        string text = string.Concat(r.Output.Select(o => o.ToString()));
        Assert.Matches(@"Status\s+: 0x[0-9a-f]{8,16}\b", text);
        Assert.DoesNotMatch(@"Status\s+: \d{12,}", text);
    }
}

/// <summary>Row 15 of issue 18: the small surprises.</summary>
public sealed class SurfaceOddsTests
{
    [Fact]
    public void KernelInfo_NumaNodes_ReadsAsOneNodeNotZero()
    {
        var r = PsRunner.Run("Get-KernelInfo | Format-List | Out-String -Width 300");
        string text = string.Concat(r.Output.Select(o => o.ToString()));
        var info = Assert.Single(PsRunner.Run("Get-KernelInfo").Objects<KernelInfo>());
        Assert.Equal(info.NumaNodes.Count, info.NumaNodeCount);
        if (info.NumaNodes.Count == 1) Assert.Matches($@"NumaNodes\s+: 1 \(node {info.NumaNodes[0]}\)", text);
        Assert.DoesNotMatch(@"NumaNodes\s+: 0\s*$", text);
    }

    [Theory]
    [InlineData("ms", "msecs")]
    [InlineData("msecs", "msecs")]
    [InlineData("ns", "nsecs")]
    [InlineData("us", "usecs")]
    public void FormatHistogram_AcceptsShortUnits(string unit, string shown)
    {
        var h = Core.Bpf.Histogram.FromValues(Enumerable.Range(1, 100).Select(i => (ulong)i * 1_000_000));
        var r = PsRunner.Run($"$h | Format-Histogram -Unit {unit}", new Dictionary<string, object?> { ["h"] = h });
        Assert.Null(r.Terminating);
        Assert.Contains(shown, string.Concat(r.Output.Select(o => o.ToString())));
    }

    [Fact]
    public void ExportHealthReport_ReturnsTheProviderItem_WithTheFileSystemView()
    {
        using var tmp = FixtureTree.Create();
        string path = Path.Combine(tmp.Path, "report.html");
        var r = PsRunner.Run("Export-KernelHealthReport -Path $p -CheckId KD1001 -Root $root | Format-Table | Out-String -Width 200",
            new Dictionary<string, object?> { ["p"] = path, ["root"] = TestPaths.Fixture("inventory", "db1") });
        Assert.Null(r.Terminating);
        string text = string.Concat(r.Output.Select(o => o.ToString()));
        Assert.Matches(@"(Unix)?Mode\s+.*LastWriteTime\s+.*Name", text);
        Assert.Contains("report.html", text);
    }
}
