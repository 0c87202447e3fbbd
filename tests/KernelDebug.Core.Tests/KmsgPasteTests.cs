using KernelDebug.Core.Kmsg;
using KernelDebug.Core.Parsing;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests;

/// <summary>
/// Logs as users paste them: every fixture format with CRLF, tabs for spaces, a quote marker, an indent or another
/// tool's prefix must read to the same messages; lines that are not the kernel's are not messages.
/// </summary>
public sealed class KmsgPasteTests
{
    private static string F(string name) => TestPaths.Fixture("kmsg", name);

    public static TheoryData<string, string> FormatsAndShapes()
    {
        string[] formats =
        [
            "kmsg-raw.txt", "dmesg.txt", "dmesg-r.txt", "dmesg-T.txt", "dmesg-iso.txt", "dmesg-x.txt", "journal-short.txt",
            "journal-short-precise.txt", "journal-short-iso.txt", "journal-short-monotonic.txt", "journal.json", "kern.log",
            "kern-rfc3339.log", "syslog-rfc5424.log", "vmcore-dmesg.txt", "console-caller.log", "oom-global.txt",
        ];
        var data = new TheoryData<string, string>();
        foreach (var f in formats)
            foreach (var shape in new[] { "crlf", "tabs", "quote", "indent" })
                // A tab inside a JSON string is another value, not a pasted blank.
                if (!(shape == "tabs" && f.EndsWith(".json"))) data.Add(f, shape);
        // Another tool's prefix goes in front of the kernel's own timestamp: the formats that start with one.
        foreach (var f in new[] { "dmesg.txt", "dmesg-r.txt", "vmcore-dmesg.txt", "console-caller.log", "oom-global.txt" })
        {
            data.Add(f, "prefix");
            data.Add(f, "clock");
        }
        return data;
    }

    private static string Shape(string text, string shape)
    {
        var lines = text.Replace("\r", "").Split('\n');
        if (lines[^1].Length == 0) lines = lines[..^1];
        int n = 0;
        IEnumerable<string> shaped = shape switch
        {
            "crlf" => lines.Select(l => l + "\r"),
            "tabs" => lines.Select(l => l.Replace(' ', '\t')),
            "quote" => lines.Select(l => "> " + l),
            "indent" => lines.Select(l => "  " + l),
            "prefix" => lines.Select(l => "ttyS0 | " + l),
            // A serial logger's own clock, different on every line, on the lines that carry the kernel's timestamp.
            "clock" => lines.Select(l => l.StartsWith('[') || l.StartsWith('<') ? $"2026-11-27 07:52:{n++ % 60:00}.{n % 1000:000} {l}" : l),
            _ => throw new ArgumentException(shape),
        };
        return string.Join('\n', shaped) + "\n";
    }

    private static List<KernelMessage> ReadAs(string text, string name, ParseContext ctx)
    {
        string dir = Directory.CreateTempSubdirectory("kd-paste-").FullName;
        try
        {
            string file = Path.Combine(dir, name);
            File.WriteAllText(file, text);
            File.SetLastWriteTime(file, File.GetLastWriteTime(F(name)));
            return KernelLog.ReadFile(file, ctx).ToList();
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [MemberData(nameof(FormatsAndShapes))]
    public void EveryFormat_ReadsTheSame_AsPasted(string name, string shape)
    {
        var want = ReadAs(File.ReadAllText(F(name)), name, new ParseContext("want"));
        var ctx = new ParseContext("got");
        var got = ReadAs(Shape(File.ReadAllText(F(name)), shape), name, ctx);
        Assert.Empty(ctx.Issues);
        Assert.Equal(want.Count, got.Count);
        for (int i = 0; i < want.Count; i++)
        {
            // Tabs for spaces: the text comes back with spaces (a tab in a message is rare, a pasted tab common).
            if (shape == "tabs") Assert.Equal(want[i].Text.Replace('\t', ' '), got[i].Text.Replace('\t', ' '));
            else Assert.Equal(want[i].Text, got[i].Text);
            Assert.Equal(want[i].Uptime, got[i].Uptime);
            Assert.Equal(want[i].Time, got[i].Time);
            Assert.Equal(want[i].Level, got[i].Level);
            Assert.Equal(want[i].ThreadId, got[i].ThreadId);
        }
    }

    [Fact]
    public void ShellPromptsElisionsAndUserSpaceLines_AreNotMessages()
    {
        var ctx = new ParseContext("p");
        var m = KernelLog.ReadFile(F("pastes/dmesg-with-shell.txt"), ctx).ToList();
        Assert.Empty(ctx.Issues);
        // Seven printk records; the VMA dump is one record of five lines.
        Assert.Equal(7, m.Count);
        Assert.All(m, x => Assert.NotNull(x.Uptime));
        var vma = Assert.Single(m, x => x.Text.StartsWith("vma "));
        Assert.Equal(5, vma.Text.Split('\n').Length);
        Assert.EndsWith("flags: 0x100073(read|write|mayread|maywrite|mayexec|account)", vma.Text);
        Assert.DoesNotContain(m, x => x.Text.Contains("systemd[1]") || x.Text.Contains("sudo[") || x.Text.Contains("root@web1") || x.Text.Contains("..."));
        Assert.Contains(m, x => x.Text.StartsWith("acme-app[4412]: segfault"));
    }

    [Fact]
    public void JournalExport_KeepsKernelLines_EvenOneWithoutItsSyslogPrefix()
    {
        var ctx = new ParseContext("j");
        var m = KernelLog.ReadFile(F("pastes/journal-with-userspace.txt"), ctx).ToList();
        Assert.Empty(ctx.Issues);
        Assert.Equal(5, m.Count);
        Assert.DoesNotContain(m, x => x.Text.Contains("systemd") || x.Text.Contains("sshd") || x.Text.Contains("Logs begin"));
        var bare = Assert.Single(m, x => x.Text.StartsWith("acme_nic 0000:3b:00.0: firmware"));
        Assert.Equal(TimeSpan.FromSeconds(9.120011), bare.Uptime);
    }

    [Fact]
    public void FirmwareAndBootloaderBanners_AreNotMessages()
    {
        var ctx = new ParseContext("c");
        var m = KernelLog.ReadFile(F("pastes/console-with-banners.txt"), ctx).ToList();
        Assert.Empty(ctx.Issues);
        Assert.Equal(5, m.Count);
        Assert.Equal("Run /init as init process", m[3].Text);
        Assert.All(m, x => Assert.NotNull(x.Uptime));
    }

    [Theory]
    [InlineData("root@web1:~# dmesg", true)]
    [InlineData("[root@web1 ~]# dmesg -T", false)] // bracketed: a console-prefix look-alike, left to the prefix parser
    [InlineData("user@host:/var/log$ journalctl -k", true)]
    [InlineData("$ dmesg", true)]
    [InlineData("...", true)]
    [InlineData("[...]", true)]
    [InlineData("systemd[1]: Started foo.service.", true)]
    [InlineData("Nov 27 07:52:28 web1 sudo[123]: root : TTY=pts/0", true)]
    [InlineData("Nov 27 07:52:28 web1 kernel[0]: [  1.0] text", false)]
    [InlineData("prot 8000000000000025 anon_vma ffff9b2c40b1d2e0", false)]
    [InlineData(" ? __warn+0x7c/0x130", false)]
    [InlineData("Modules linked in: acme(O)", false)]
    [InlineData("RIP: 0010:acme_ring_free+0x2e/0x90 [acme_nic]", false)]
    public void PasteNoise_TellsUserSpaceFromKernelLines(string line, bool foreign) =>
        Assert.Equal(foreign, PasteNoise.IsForeign(line));
}
