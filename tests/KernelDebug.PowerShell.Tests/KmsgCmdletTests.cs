using System.Management.Automation;
using KernelDebug.Core.Kmsg;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.PowerShell.Tests;

public class KmsgCmdletTests
{
    private static string Fixture(string name) => TestPaths.Fixture("kmsg", name);

    // A trailing newline finishes the record; without it printk holds it open for a continuation.
    private static void WriteKmsg(string line) => File.WriteAllText("/dev/kmsg", line + "\n");

    private static Dictionary<string, object?> Vars(params (string, object?)[] v) => v.ToDictionary(x => x.Item1, x => x.Item2);

    [Fact]
    public void Live_FindsMarker_WithLevelFilterByName()
    {
        string marker = "kerneldebug-test-" + Guid.NewGuid().ToString("N");
        WriteKmsg("<4>" + marker);
        var r = PsRunner.Run("Get-KernelMessage -Pattern $m -Level warn", Vars(("m", marker)));
        Assert.Null(r.Terminating);
        var m = Assert.Single(r.Objects<KernelMessage>());
        Assert.Equal(marker, m.Text);
        Assert.Equal(KernelLogLevel.Warning, m.Level);
        Assert.NotNull(m.Sequence);

        // Level 4 is not "at least error"; it is "at least warning".
        Assert.Empty(PsRunner.Run("Get-KernelMessage -Pattern $m -MinimumLevel err", Vars(("m", marker))).Objects<KernelMessage>());
        Assert.Single(PsRunner.Run("Get-KernelMessage -Pattern $m -MinimumLevel 4 -Facility User", Vars(("m", marker))).Objects<KernelMessage>());
    }

    [Fact]
    public void Live_Last_GivesTheNewest()
    {
        string marker = "kerneldebug-test-" + Guid.NewGuid().ToString("N");
        WriteKmsg("<6>" + marker + "-a");
        WriteKmsg("<6>" + marker + "-b");
        var r = PsRunner.Run("Get-KernelMessage -Pattern $m -Last 1", Vars(("m", marker)));
        Assert.Equal(marker + "-b", Assert.Single(r.Objects<KernelMessage>()).Text);
    }

    [Fact]
    public async Task Follow_StoppedLikeCtrlC_ReturnsMarkerWrittenDuringTheRun()
    {
        string marker = "kerneldebug-test-" + Guid.NewGuid().ToString("N");
        var writer = Task.Run(async () =>
        {
            await Task.Delay(1500, TestContext.Current.CancellationToken);
            WriteKmsg("<5>" + marker);
        }, TestContext.Current.CancellationToken);
        var r = PsRunner.RunAndStop("Get-KernelMessage -Follow -Pattern '" + marker + "'", TimeSpan.FromSeconds(5));
        await writer;
        Assert.Null(r.Terminating);
        var m = Assert.Single(r.Objects<KernelMessage>());
        Assert.Equal(KernelLogLevel.Notice, m.Level);
    }

    [Fact]
    public async Task Follow_WithLast_ShowsNewestBacklogThenNewOnes()
    {
        string marker = "kerneldebug-test-" + Guid.NewGuid().ToString("N");
        foreach (var s in new[] { "a", "b", "c" }) WriteKmsg($"<6>{marker}-{s}");
        var writer = Task.Run(async () =>
        {
            await Task.Delay(1500, TestContext.Current.CancellationToken);
            WriteKmsg($"<6>{marker}-d");
        }, TestContext.Current.CancellationToken);
        var r = PsRunner.RunAndStop($"Get-KernelMessage -Follow -Last 2 -Pattern '{marker}'", TimeSpan.FromSeconds(5));
        await writer;
        // The newest two of the backlog, then what came later, each once. On a slow start "d" is already in the
        // backlog, and the two newest are then c and d.
        var got = r.Objects<KernelMessage>().Select(m => m.Text[^1..]).ToList();
        Assert.True(got.SequenceEqual(["b", "c", "d"]) || got.SequenceEqual(["c", "d"]), string.Join(",", got) + " " + r);
    }

    [Fact]
    public void Path_DirectoryWildcardAndFileInfo()
    {
        var dir = PsRunner.Run("Get-KernelMessage -Path $d", Vars(("d", Path.Combine(TestPaths.Fixtures, "kmsg", "pstore"))));
        Assert.Null(dir.Terminating);
        Assert.Empty(dir.Warnings);
        Assert.Equal(10, dir.Objects<KernelMessage>().Count); // the efi dump's two parts once, plus ramoops

        var wild = PsRunner.Run("Get-KernelMessage -Path (Join-Path $d 'journal-short*.txt')", Vars(("d", Path.Combine(TestPaths.Fixtures, "kmsg"))));
        Assert.Equal(4, wild.Objects<KernelMessage>().Select(m => m.Source).Distinct().Count());

        var info = PsRunner.Run("Get-ChildItem $f | Get-KernelMessage -Level 3,err", Vars(("f", Fixture("dmesg-r.txt"))));
        Assert.Null(info.Terminating);
        int errors = File.ReadAllLines(Fixture("dmesg-r.txt")).Count(l => l.StartsWith("<3>") || l.StartsWith("<11>"));
        Assert.Equal(errors, info.Objects<KernelMessage>().Count);
    }

    [Fact]
    public void Path_StoppedEarly_PutsTheGcModeBack()
    {
        var before = System.Runtime.GCSettings.LatencyMode;
        var r = PsRunner.Run("Get-KernelMessage -Path $f | Select-Object -First 1", Vars(("f", Fixture("dmesg.txt"))));
        Assert.Single(r.Objects<KernelMessage>());
        Assert.Equal(before, System.Runtime.GCSettings.LatencyMode);
    }

    [Fact]
    public void Path_SinceUntilAndSubsystem()
    {
        var since = PsRunner.Run("Get-KernelMessage -Path $f -Since ([datetimeoffset]::FromUnixTimeSeconds(1795765905))", Vars(("f", Fixture("journal.json"))));
        // Messages at 5.1 s and later in the story; the boot was at 1795765900.
        Assert.Equal(3, since.Objects<KernelMessage>().Count);
        var until = PsRunner.Run("Get-KernelMessage -Path $f -Until ([datetimeoffset]::FromUnixTimeSeconds(1795765901))", Vars(("f", Fixture("journal.json"))));
        Assert.Equal(4, until.Objects<KernelMessage>().Count);
        var sub = PsRunner.Run("Get-KernelMessage -Path $f -Subsystem pc* -Device '+pci:*'", Vars(("f", Fixture("journal.json"))));
        Assert.Equal("pci", Assert.Single(sub.Objects<KernelMessage>()).Subsystem);
    }

    [Fact]
    public void Path_GarbageFile_WarnsWithFileAndLine()
    {
        using var tree = FixtureTree.Create();
        tree.File("bad.log", "[    1.000000] good\n\u0001\u0002 binary\n[    2.000000] also good\n");
        var r = PsRunner.Run("Get-KernelMessage -Path $f", Vars(("f", Path.Combine(tree.Path, "bad.log"))));
        Assert.Equal(2, r.Objects<KernelMessage>().Count);
        var w = Assert.Single(r.Warnings);
        Assert.Contains("bad.log:2:", w);
    }

    [Fact]
    public void Path_Missing_IsNonTerminatingErrorAndOthersStillRead()
    {
        var r = PsRunner.Run("Get-KernelMessage -LiteralPath '/nonexistent/kd.log', $f", Vars(("f", Fixture("dmesg.txt"))));
        Assert.Null(r.Terminating);
        Assert.Contains(r.Errors, e => e.FullyQualifiedErrorId.StartsWith("KernelLogNotFound"));
        Assert.NotEmpty(r.Objects<KernelMessage>());
    }

    [Fact]
    public void Level_BadName_IsBindingError()
    {
        var r = PsRunner.Run("Get-KernelMessage -Path $f -Level loud", Vars(("f", Fixture("dmesg.txt"))));
        Assert.NotNull(r.Terminating);
        Assert.Contains("not a kernel log level", r.Terminating!.Exception.Message);
    }

    [Fact]
    public void OomEvent_FromPathAndFromPipeline()
    {
        var path = PsRunner.Run("Get-KernelOomEvent -Path $f", Vars(("f", Fixture("oom-memcg.txt"))));
        Assert.Null(path.Terminating);
        Assert.Equal(2, path.Objects<OomEvent>().Count);
        var piped = PsRunner.Run("Get-KernelMessage -Path $f | Get-KernelOomEvent -PageSize 16384", Vars(("f", Fixture("oom-global.txt"))));
        var e = Assert.Single(piped.Objects<OomEvent>());
        Assert.Equal(25346L * 16384, e.FreeBytes);
        Assert.Equal("stress-ng", e.VictimCommand);
    }

    [Fact]
    public void OomEvent_Live_RunsAndFindsNoneOrRealOnes()
    {
        var r = PsRunner.Run("Get-KernelOomEvent");
        Assert.Null(r.Terminating);
        // Whatever the machine logged, every event found must name what it killed or that it killed nothing.
        Assert.All(r.Objects<OomEvent>(), e => Assert.True(e.Killed ? e.VictimProcessId is not null : true));
    }

    [Fact]
    public void Views_RenderWithoutErrors()
    {
        var r = PsRunner.Run("Get-KernelOomEvent -Path $f | Out-String; Get-KernelMessage -Path $g | Out-String", Vars(("f", Fixture("oom-global.txt")), ("g", Fixture("dmesg.txt"))));
        Assert.Null(r.Terminating);
        string text = string.Join("\n", r.Output.Select(o => o.ToString()));
        Assert.Contains("stress-ng (4242)", text);
        Assert.Contains("7.4 GiB", text);
        Assert.Contains("Linux version", text);
    }

    [Fact]
    public void Unprivileged_DmesgRestrict_NamesCapSyslog()
    {
        if (Unprivileged.WhyUnavailable() is { } why) Assert.Skip(why);
        if (File.ReadAllText("/proc/sys/kernel/dmesg_restrict").Trim() != "1") Assert.Skip("kernel.dmesg_restrict is 0 here, so everyone may read /dev/kmsg");
        var r = Unprivileged.RunPwsh("try { Get-KernelMessage -ErrorAction Stop | Out-Null; 'no error' } catch { $_.FullyQualifiedErrorId; $_.CategoryInfo.Category; $_.ErrorDetails.RecommendedAction }");
        Assert.Contains("KmsgAccessDenied", r.StdOut);
        Assert.Contains("PermissionDenied", r.StdOut);
        Assert.Contains("CAP_SYSLOG", r.StdOut);
        Assert.Contains("kernel.dmesg_restrict", r.StdOut);
    }
}
