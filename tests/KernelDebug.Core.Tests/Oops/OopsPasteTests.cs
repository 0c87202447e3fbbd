using KernelDebug.Core.Kmsg;
using KernelDebug.Core.Oops;
using KernelDebug.Core.Parsing;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests.Oops;

/// <summary>Crash reports as users paste them (tests/fixtures/oops/pastes, README there), read as Get-KernelOops -Path reads them.</summary>
public sealed class OopsPasteTests
{
    private static string F(string name) => TestPaths.Fixture("oops", "pastes", name);

    private static (List<KernelOops> Reports, ParseContext Ctx) Read(string path)
    {
        var ctx = new ParseContext(path);
        return (KernelOopsParser.Parse(KernelLog.ReadFile(path, ctx), ctx).ToList(), ctx);
    }

    public static TheoryData<string, OopsKind, string, string, bool> Cases => new()
    {
        // file, kind, title, guilty frame, corrupted
        { "cut-rip-x86.txt", OopsKind.NullPointerDereference, "BUG: unable to handle kernel NULL pointer dereference in acme_ring_free", "acme_ring_free", true },
        { "cut-pc-arm64.txt", OopsKind.PageFault, "BUG: unable to handle kernel NULL pointer dereference in acme_cam_stream_on", "acme_cam_stream_on", true },
        { "warning-header-cut.txt", OopsKind.Warning, "WARNING in acme_crtc_vblank_on", "acme_crtc_vblank_on", true },
        { "warning-old-at.txt", OopsKind.Warning, "WARNING in acme_core_reset", "acme_core_reset", false },
        { "panic-with-trace.txt", OopsKind.Panic, "kernel panic: VFS: Unable to mount root fs on unknown-block(NUM,NUM)", "mount_block_root", false },
        { "xen-pv-rip.txt", OopsKind.GeneralProtectionFault, "general protection fault in acme_evtchn_bind", "acme_evtchn_bind", false },
        { "arm32-oops.txt", OopsKind.PageFault, "BUG: unable to handle kernel NULL pointer dereference in acme_spi_xfer", "acme_spi_xfer", false },
        { "arm32-hung-task.txt", OopsKind.HungTask, "INFO: task hung in acme_flush_thread", "acme_flush_thread", true },
        { "decoded-discriminator.txt", OopsKind.Warning, "WARNING in acme_tx_timeout", "acme_tx_timeout", false },
        { "list-debug-cut.txt", OopsKind.Bug, "kernel BUG in __list_del_entry_valid_or_report", "__list_del_entry_valid_or_report", true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Paste_TitledFromWhatItHolds(string name, OopsKind kind, string title, string frame, bool corrupted)
    {
        var (reports, _) = Read(F(name));
        var o = Assert.Single(reports);
        Assert.Equal(kind, o.Kind);
        Assert.Equal(title, o.Title);
        Assert.Equal(frame, o.GuiltyFrame);
        Assert.Equal(corrupted, o.Corrupted);
        Assert.DoesNotContain("corrupted", o.Title);
        string text = File.ReadAllText(F(name));
        if (text.Contains("CPU: ")) Assert.NotNull(o.Cpu);
        if (text.Contains("PID: ") || text.Contains("pid:")) Assert.NotNull(o.ProcessId);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Paste_QuotedIndentedOrWithCrlf_ReadsTheSame(string name, OopsKind kind, string title, string frame, bool corrupted)
    {
        _ = kind; _ = corrupted;
        var lines = File.ReadAllLines(F(name));
        string dir = Directory.CreateTempSubdirectory("kd-oops-paste-").FullName;
        try
        {
            foreach (var (shape, text) in new[]
                     {
                         ("quote", string.Concat(lines.Select(l => "> " + l + "\n"))),
                         ("indent", string.Concat(lines.Select(l => "  " + l + "\n"))),
                         ("crlf", string.Concat(lines.Select(l => l + "\r\n"))),
                         ("tabs", string.Concat(lines.Select(l => l.Replace(' ', '\t') + "\n"))),
                         ("prefix", string.Concat(lines.Select(l => "serial0: " + l + "\n"))),
                         ("shell", "root@web1:~# dmesg\n" + string.Join("\n", lines) + "\nroot@web1:~# \n"),
                     })
            {
                string file = Path.Combine(dir, shape + ".txt");
                File.WriteAllText(file, text);
                var o = Assert.Single(Read(file).Reports);
                Assert.True(title == o.Title, $"{shape}: '{o.Title}'");
                Assert.Equal(frame, o.GuiltyFrame);
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>What must not differ between reading a file whole and reading only the regions around headers.</summary>
    internal static string[] Summary(IEnumerable<KernelOops> reports) =>
        reports.Select(o => $"{o.StartLine}-{o.EndLine} {o.Kind} '{o.Title}' {o.GuiltyFrame} {o.Corrupted} {o.Signature} {o.Cpu} {o.ProcessId} " +
                            $"{o.Panicked} {string.Join('|', o.AltTitles)} {string.Join('|', o.Lines)}").ToArray();

    public static TheoryData<string> AllLogFixtures => new(
        new[] { "oops", "kmsg" }.SelectMany(d => Directory.EnumerateFiles(TestPaths.Fixture(d), "*", SearchOption.AllDirectories))
            .Where(f => !f.EndsWith(".md") && !f.Contains("/snapshot/proc/") && !f.Contains("/syzkaller/"))
            .Select(f => Path.GetRelativePath(TestPaths.Fixtures, f)));

    [Theory]
    [MemberData(nameof(AllLogFixtures))]
    public void ParseFile_FindsWhatReadingEveryMessageFinds(string name)
    {
        string path = Path.Combine(TestPaths.Fixtures, name);
        var whole = new ParseContext(path);
        var want = KernelOopsParser.Parse(KernelLog.ReadFile(path, whole), whole).ToList();
        var fast = new ParseContext(path);
        var got = KernelOopsParser.ParseFile(path, fast).ToList();
        Assert.Equal(Summary(want), Summary(got));
        Assert.Equal(whole.Issues.Select(i => i.ToString()), fast.Issues.Select(i => i.ToString()));
    }

    [Fact]
    public void ParseFile_OnALongLogWithReportsSpreadThrough_FindsTheSame()
    {
        // Ordinary lines, reports every few hundred lines, some cut short, and continuation lines in between.
        var rng = new Random(7);
        var blocks = new[] { "warning-header-cut.txt", "panic-with-trace.txt", "xen-pv-rip.txt", "decoded-discriminator.txt", "list-debug-cut.txt" }
            .Select(f => File.ReadAllLines(F(f)).Select(l => l[(l.IndexOf(']') + 1)..]).ToArray()).ToArray();
        var sb = new System.Text.StringBuilder();
        double t = 1;
        for (int i = 0; i < 20000; i++)
        {
            t += 0.001;
            if (rng.Next(400) == 0)
                foreach (var l in blocks[rng.Next(blocks.Length)]) sb.Append($"[{t,12:F6}]{l}\n");
            else if (rng.Next(50) == 0) sb.Append($"[{t,12:F6}] multi-line record\n  its second line\n");
            else sb.Append($"[{t,12:F6}] usb 1-1: new high-speed USB device number {i} using xhci_hcd\n");
        }
        using var tree = FixtureTree.Create();
        tree.File("long.log", sb.ToString());
        string path = Path.Combine(tree.Path, "long.log");
        var want = KernelOopsParser.Parse(KernelLog.ReadFile(path, new ParseContext(path))).ToList();
        Assert.True(want.Count > 20);
        Assert.Equal(Summary(want), Summary(KernelOopsParser.ParseFile(path, new ParseContext(path))));
    }

    /// <summary>Issue 18: a one-line WARNING keeps the CPU and PID its header names.</summary>
    [Fact]
    public void OneLineWarning_KeepsCpuAndPid()
    {
        var o = Assert.Single(Read(F("warning-one-line.txt")).Reports);
        Assert.Equal(OopsKind.Warning, o.Kind);
        Assert.Equal(0, o.Cpu);
        Assert.Equal(1, o.ProcessId);
        // A lone header line is a console cut short: syzkaller's corpus titles it "WARNING in corrupted" (cases 22-25).
        Assert.True(o.Corrupted);
    }

    [Fact]
    public void ShellPromptsAndUserSpaceLines_AreNotPartOfTheReport()
    {
        var (reports, _) = Read(TestPaths.Fixture("kmsg", "pastes", "dmesg-with-shell.txt"));
        var o = Assert.Single(reports);
        Assert.Equal("kernel BUG in corrupted", o.Title);
        Assert.DoesNotContain(o.Lines, l => l.Contains("root@web1"));
    }
}
