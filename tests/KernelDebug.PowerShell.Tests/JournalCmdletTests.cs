using System.Globalization;
using KernelDebug.Core.Journal;
using KernelDebug.Core.Kmsg;
using KernelDebug.Core.Oops;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.PowerShell.Tests;

/// <summary>The log cmdlets on journal files (systemd-journal-remote), crash archives and netconsole, and their shared log-source rules.</summary>
public sealed class JournalCmdletTests : IDisposable
{
    private readonly JournalScenario? _s;
    private readonly DirectoryInfo _tmp = Directory.CreateTempSubdirectory("kd-logsrc-");

    public JournalCmdletTests()
    {
        if (JournalFixture.WhyUnavailable() is null) _s = JournalScenario.Create();
    }

    public void Dispose()
    {
        _s?.Dispose();
        _tmp.Delete(true);
    }

    private JournalScenario S
    {
        get
        {
            Assert.SkipWhen(_s is null, JournalFixture.WhyUnavailable() ?? "");
            return _s!;
        }
    }

    private static Dictionary<string, object?> Vars(params (string, object?)[] v) => v.ToDictionary(x => x.Item1, x => x.Item2);

    [Fact]
    public void GetKernelBoot_Path_TellsEachBootsEnd()
    {
        var r = PsRunner.Run("Get-KernelBoot -Path $d", Vars(("d", S.Directory)));
        Assert.Null(r.Terminating);
        Assert.Empty(r.Errors);
        var boots = r.Objects<KernelBoot>();
        Assert.Equal([BootEnd.Reboot, BootEnd.Panic, BootEnd.Shutdown, BootEnd.CrashReport, BootEnd.LogStopped], boots.Select(b => b.End));
        Assert.Equal(JournalScenario.Boots, boots.Select(b => b.BootId));
        // A journal of another machine gets no archives of this one, and its last boot is not "running".
        Assert.All(boots, b => Assert.Empty(b.Archives));
        var one = PsRunner.Run("Get-KernelBoot -Path $d -Boot -3", Vars(("d", S.Directory))).Objects<KernelBoot>();
        Assert.Equal(JournalScenario.Panic, Assert.Single(one).BootId);
    }

    [Fact]
    public void BootCompletion_OffersOffsetsAndIds_OfTheJournalNamed()
    {
        string line = $"Get-KernelBoot -Path '{S.Directory}' -Boot ";
        var r = PsRunner.Run("(TabExpansion2 -inputScript $l -cursorColumn $l.Length).CompletionMatches.CompletionText", Vars(("l", line)));
        Assert.Equal(["0", "-1", "-2", "-3", "-4"], r.Output.Select(o => o.ToString()));
        string byId = $"Get-KernelMessage -Path '{S.Directory}' -Boot 2222";
        var id = PsRunner.Run("(TabExpansion2 -inputScript $l -cursorColumn $l.Length).CompletionMatches.CompletionText", Vars(("l", byId)));
        Assert.Equal(JournalScenario.Panic, Assert.Single(id.Output).ToString());
    }

    [Fact]
    public void GetKernelOops_PreviousBoot_SameTitleAsItsTextExport()
    {
        // Boot -3 is the one that panicked (the journal's last boot is 0).
        string export = Path.Combine(_tmp.FullName, "panic.txt");
        File.WriteAllText(export, JournalFixture.Journalctl(["-D", S.Directory, "-k", "-b", JournalScenario.Panic, "-o", "short-precise", "--no-pager"]));
        var fromJournal = PsRunner.Run("Get-KernelOops -Boot -3 -Path $d", Vars(("d", S.Directory)));
        Assert.Null(fromJournal.Terminating);
        var fromText = PsRunner.Run("Get-KernelOops -Path $f", Vars(("f", export))).Objects<KernelOops>();
        var o = Assert.Single(fromJournal.Objects<KernelOops>());
        Assert.Equal(Assert.Single(fromText).Title, o.Title);
        Assert.True(o.Panicked);
        // -1 is the boot with the hung task.
        var hung = PsRunner.Run("Get-KernelOops -Boot -1 -Path $d", Vars(("d", S.Directory))).Objects<KernelOops>();
        Assert.Equal(OopsKind.HungTask, Assert.Single(hung).Kind);
    }

    [Fact]
    public void GetKernelMessage_Boot_GivesOnlyThatBootsKernelEntries_WithBootId()
    {
        var r = PsRunner.Run("Get-KernelMessage -Path $d -Boot $b", Vars(("d", S.Directory), ("b", JournalScenario.Shutdown)));
        Assert.Null(r.Terminating);
        var messages = r.Objects<KernelMessage>();
        int oracle = JournalFixture.Journalctl(["-D", S.Directory, "-k", "-b", JournalScenario.Shutdown, "-o", "cat", "--no-pager"])
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
        Assert.Equal(oracle, messages.Count);
        Assert.All(messages, m => Assert.Equal(JournalScenario.Shutdown, m.BootId));
        Assert.All(messages, m => Assert.NotNull(m.Level));
        Assert.Equal("reboot: Power down", messages[^1].Text);

        // A journal file can be piped from Get-ChildItem, and -Root finds the journal under a root.
        var piped = PsRunner.Run("Get-ChildItem $f | Get-KernelMessage -Boot 0", Vars(("f", S.SecondFile))).Objects<KernelMessage>();
        Assert.All(piped, m => Assert.Equal(JournalScenario.CutShort, m.BootId));
        Assert.NotEmpty(piped);
        using var rooted = JournalScenario.Create("root/var/log/journal");
        var fromRoot = PsRunner.Run("Get-KernelMessage -Root $r -Boot -3 -Level emerg", Vars(("r", Path.Combine(rooted.Directory, "root")))).Objects<KernelMessage>();
        Assert.Equal("Kernel panic - not syncing: Fatal exception", Assert.Single(fromRoot).Text);

        var missing = PsRunner.Run("Get-KernelMessage -Path $d -Boot -9", Vars(("d", S.Directory)));
        Assert.Equal("BootNotFound", missing.Terminating?.FullyQualifiedErrorId.Split(',')[0]);
    }

    [Fact]
    public void OomEvent_And_MachineCheck_ReadTheSameJournal()
    {
        var r = PsRunner.Run("Get-KernelOomEvent -Path $d -Boot -1; Get-MachineCheck -Path $d -Boot -1", Vars(("d", S.Directory)));
        Assert.Null(r.Terminating);
        Assert.Empty(r.Errors);
        Assert.Empty(r.Output);
    }

    [Fact]
    public void Archived_FindsSystemdPstoreAndKdumpUnderRoot()
    {
        string root = Path.Combine(_tmp.FullName, "root");
        string pstore = Path.Combine(root, "var/lib/systemd/pstore/179576590001");
        Directory.CreateDirectory(pstore);
        File.WriteAllLines(Path.Combine(pstore, "dmesg-efi-179576590001001"),
            ["Panic#1 Part1", .. JournalScenario.PanicReport.Select((l, i) => string.Create(CultureInfo.InvariantCulture, $"<4>[18000.{i:D6}] {l}"))]);
        string kdump = Path.Combine(root, "var/crash/202611050802");
        Directory.CreateDirectory(kdump);
        File.WriteAllLines(Path.Combine(kdump, "dmesg.202611050802"),
            JournalScenario.HungReport.Select((l, i) => string.Create(CultureInfo.InvariantCulture, $"[18000.{i:D6}] {l}")));
        var r = PsRunner.Run("Get-KernelOops -Archived -Root $r", Vars(("r", root)));
        Assert.Null(r.Terminating);
        var oopses = r.Objects<KernelOops>();
        Assert.Equal(2, oopses.Count);
        Assert.Contains(oopses, o => o.Panicked && o.Source!.Contains("/var/lib/systemd/pstore/"));
        Assert.Contains(oopses, o => o.Kind == OopsKind.HungTask && o.Source!.Contains("/var/crash/"));
    }

    [Fact]
    public void KernLogWithLevelFilter_WarnsOnce_AndIncludeUnknownLevelKeepsThem()
    {
        // Table row 3 of issue 18: plain kern.log carries no level, and -Level Error used to return nothing silently.
        string log = Path.Combine(_tmp.FullName, "kern.log");
        File.Copy(TestPaths.Fixture("kmsg", "kern.log"), log);
        File.Copy(TestPaths.Fixture("kmsg", "kern.log"), log + ".1");
        var r = PsRunner.Run("Get-ChildItem ($p + '*') | Get-KernelMessage -Level Error", Vars(("p", log)));
        Assert.Null(r.Terminating);
        Assert.Empty(r.Objects<KernelMessage>());
        var w = Assert.Single(r.Warnings);
        Assert.Contains("-IncludeUnknownLevel", w);
        Assert.Contains(log, w);
        var kept = PsRunner.Run("Get-ChildItem ($p + '*') | Get-KernelMessage -Level Error -IncludeUnknownLevel", Vars(("p", log)));
        Assert.Empty(kept.Warnings);
        int lines = File.ReadAllLines(log).Length;
        Assert.True(kept.Objects<KernelMessage>().Count >= lines, kept.ToString());
    }

    [Theory]
    [InlineData("Get-KernelMessage")]
    [InlineData("Get-KernelOops")]
    [InlineData("Get-KernelOomEvent")]
    [InlineData("Get-MachineCheck")]
    public void LogCmdlets_AnswerBadInputsAlike(string cmdlet)
    {
        string bin = Path.Combine(_tmp.FullName, "core.bin");
        File.WriteAllBytes(bin, [0x7f, (byte)'E', (byte)'L', (byte)'F', 0, 1, 2, 3, 0, 0, 0xff, 0xfe, 0x10, 0x11]);
        string empty = Directory.CreateDirectory(Path.Combine(_tmp.FullName, "empty")).FullName;
        string dir = Directory.CreateDirectory(Path.Combine(_tmp.FullName, "logs")).FullName;
        File.Copy(TestPaths.Fixture("kmsg", "dmesg.txt"), Path.Combine(dir, "dmesg.txt"));

        var r = PsRunner.Run($"{cmdlet} -Path $b; {cmdlet} -LiteralPath $m; {cmdlet} -Path $e; {cmdlet} -Path $d | Out-Null; {cmdlet} -Path $t -Boot -1",
            Vars(("b", bin), ("m", Path.Combine(_tmp.FullName, "nosuch.log")), ("e", empty), ("d", dir), ("t", Path.Combine(dir, "dmesg.txt"))));
        Assert.Null(r.Terminating);
        var w = Assert.Single(r.Warnings);
        Assert.Contains(bin, w);
        Assert.Contains("binary", w);
        Assert.DoesNotContain("ELF", w);
        Assert.Equal(["KernelLogNotFound", "KernelLogDirectoryEmpty", "BootNeedsJournal"], r.Errors.Select(e => e.FullyQualifiedErrorId.Split(',')[0]));
    }

    [Fact]
    public void ReceiveNetConsole_PipedIntoGetKernelOops_GroupsPerSender()
    {
        var lines = JournalScenario.PanicReport.Select((l, i) => new KernelMessage { Text = l, Level = KernelLogLevel.Warning, Uptime = TimeSpan.FromSeconds(100 + i * 0.001) }).ToList();
        var hung = JournalScenario.HungReport.Select((l, i) => new KernelMessage { Text = l, Level = KernelLogLevel.Error, Uptime = TimeSpan.FromSeconds(200 + i * 0.001) }).ToList();
        int port = FreePort();
        string logs = Path.Combine(_tmp.FullName, "netconsole");
        var sender = Task.Run(async () =>
        {
            var to = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, port);
            // Send once the receiver holds the port (a loaded machine starts the runspace slowly).
            for (var until = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < until; await Task.Delay(50, TestContext.Current.CancellationToken))
            {
                // /proc/net/udp lists bound sockets as "0100007F:<port hex>": looking, not binding, so it cannot race the receiver.
                string needle = $"0100007F:{port:X4} ";
                if (File.ReadLines("/proc/net/udp").Any(l => l.Contains(needle, StringComparison.Ordinal))) break;
            }
            // Two machines at once, interleaved: one extended with fragments, one plain.
            var a = NetConsoleSender.Scramble(NetConsoleSender.Extended(lines, release: "6.1.0-18-amd64", fragmentAbove: 40), 3);
            var b = NetConsoleSender.Plain(hung.Select(m => string.Create(CultureInfo.InvariantCulture, $"[{m.Uptime!.Value.TotalSeconds,12:F6}] {m.Text}")), 1);
            var ta = Task.Run(() => NetConsoleSender.Send(to, a));
            var tb = Task.Run(() => NetConsoleSender.Send(to, b));
            await Task.WhenAll(ta, tb);
        }, TestContext.Current.CancellationToken);
        var r = PsRunner.Run("Receive-NetConsole -Port $p -Address 127.0.0.1 -Path $l -Duration ([timespan]::FromSeconds(8)) | Get-KernelOops",
            Vars(("p", port), ("l", logs)));
        sender.Wait(TestContext.Current.CancellationToken);
        Assert.Null(r.Terminating);
        var oopses = r.Objects<KernelOops>();
        Assert.Equal(2, oopses.Count);
        Assert.Equal(2, oopses.Select(o => o.Source).Distinct().Count());
        Assert.Contains(oopses, o => o.Panicked && o.Title.Contains("nvme_setup_io_queues", StringComparison.Ordinal));
        Assert.Contains(oopses, o => o.Kind == OopsKind.HungTask);
        Assert.Equal(2, Directory.GetFiles(logs, "*.log").Length);
        // The port is free again once the command ended.
        using var again = new System.Net.Sockets.UdpClient(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, port));
    }

    private static int FreePort()
    {
        using var u = new System.Net.Sockets.UdpClient(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        return ((System.Net.IPEndPoint)u.Client.LocalEndPoint!).Port;
    }
}
