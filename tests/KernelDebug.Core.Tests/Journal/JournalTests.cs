using System.Globalization;
using System.Text.Json;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Journal;
using KernelDebug.Core.Kmsg;
using KernelDebug.Core.Oops;
using KernelDebug.Core.Parsing;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests.Journal;

/// <summary>The journal reader on real journal files written by systemd-journal-remote; journalctl is the oracle.</summary>
public sealed class JournalTests : IDisposable
{
    private readonly JournalScenario? _s;

    public JournalTests()
    {
        if (JournalFixture.WhyUnavailable() is null) _s = JournalScenario.Create();
    }

    public void Dispose() => _s?.Dispose();

    private JournalScenario S
    {
        get
        {
            Assert.SkipWhen(_s is null, JournalFixture.WhyUnavailable() ?? "");
            return _s!;
        }
    }

    private JournalLocation Dir => new() { Paths = [S.Directory] };

    private static List<JsonElement> Oracle(params string[] args) =>
        JournalFixture.Journalctl([.. args, "-o", "json", "--no-pager"]).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    [Fact]
    public void KernelMessages_AreTheKernelEntriesJournalctlShows_WithTimesPriorityAndBoot()
    {
        var ctx = new ParseContext("t");
        var ours = JournalKernelLog.Read(Dir, null, ctx).ToList();
        var oracle = Oracle("-D", S.Directory, "_TRANSPORT=kernel");
        Assert.Empty(ctx.Issues);
        Assert.Equal(oracle.Count, ours.Count);
        Assert.True(ours.Count > 60);
        for (int i = 0; i < ours.Count; i++)
        {
            var o = oracle[i];
            var m = ours[i];
            Assert.Equal(o.GetProperty("MESSAGE").GetString(), m.Text);
            Assert.Equal(o.GetProperty("_BOOT_ID").GetString(), m.BootId);
            Assert.Equal(int.Parse(o.GetProperty("PRIORITY").GetString()!, CultureInfo.InvariantCulture), (int)m.Level!.Value);
            Assert.Equal(long.Parse(o.GetProperty("__REALTIME_TIMESTAMP").GetString()!, CultureInfo.InvariantCulture), JournalFixture.Usec(m.Time!.Value));
            Assert.Equal(long.Parse(o.GetProperty("_SOURCE_MONOTONIC_TIMESTAMP").GetString()!, CultureInfo.InvariantCulture), (long)m.Uptime!.Value.TotalMicroseconds);
            Assert.Equal("web1", m.Sender);
            Assert.StartsWith(S.Directory, m.Source);
        }
        // The user-space entries are in the files, but not kernel messages.
        Assert.True(Oracle("-D", S.Directory).Count > ours.Count);
    }

    [Fact]
    public void Boots_AreListedInOrder_AndResolvedLikeJournalctl()
    {
        using var reader = JournalReader.Open(Dir.Files(), new ParseContext("t"));
        var boots = reader.Boots();
        Assert.Equal(JournalScenario.Boots, boots.Select(b => b.BootId));
        Assert.Equal(JournalScenario.Hung, JournalKernelLog.ResolveBoot(boots, "-1", "t").BootId);
        Assert.Equal(JournalScenario.CutShort, JournalKernelLog.ResolveBoot(boots, "0", "t").BootId);
        Assert.Equal(JournalScenario.Reboot, JournalKernelLog.ResolveBoot(boots, "1", "t").BootId);
        Assert.Equal(JournalScenario.Panic, JournalKernelLog.ResolveBoot(boots, "22222222-2222-2222-2222-222222222222", "t").BootId);
        var e = Assert.Throws<KernelDebugException>(() => JournalKernelLog.ResolveBoot(boots, "-5", "t"));
        Assert.Equal("BootNotFound", e.ErrorId);
        // journalctl's own list of boots is the oracle for first and last entries.
        var listed = JournalFixture.Journalctl(["-D", S.Directory, "--list-boots", "-o", "json", "--no-pager"]);
        foreach (var b in boots) Assert.Contains(b.BootId, listed);
        foreach (var b in boots)
        {
            var entries = Oracle("-D", S.Directory, "_BOOT_ID=" + b.BootId);
            Assert.Equal(long.Parse(entries[0].GetProperty("__REALTIME_TIMESTAMP").GetString()!, CultureInfo.InvariantCulture), JournalFixture.Usec(b.First));
            Assert.Equal(long.Parse(entries[^1].GetProperty("__REALTIME_TIMESTAMP").GetString()!, CultureInfo.InvariantCulture), JournalFixture.Usec(b.Last));
        }
    }

    [Fact]
    public void EachBootEnd_IsToldFromItsLastWords()
    {
        var ctx = new ParseContext("t");
        using var reader = JournalReader.Open(Dir.Files(), ctx);
        var boots = BootHistory.Read(reader, "t", null, [], ctx).ToList();
        Assert.Equal([BootEnd.Reboot, BootEnd.Panic, BootEnd.Shutdown, BootEnd.CrashReport, BootEnd.LogStopped], boots.Select(b => b.End));
        Assert.Equal([-4, -3, -2, -1, 0], boots.Select(b => b.Index));
        Assert.All(boots, b => Assert.Equal(JournalScenario.Release, b.KernelRelease));
        foreach (var b in boots)
            Assert.Equal(Oracle("-D", S.Directory, "_TRANSPORT=kernel", "_BOOT_ID=" + b.BootId).Count, b.MessageCount);
        Assert.Equal("reboot: Restarting system", boots[0].EndMessage);
        Assert.Equal("Kernel panic - not syncing: Fatal exception", boots[1].EndMessage);
        Assert.Contains("nvme_setup_io_queues", boots[1].CrashTitle);
        // The WARNING came an hour before a clean power-off: the boot ended cleanly, and the report is still listed.
        Assert.Equal("reboot: Power down", boots[2].EndMessage);
        Assert.Single(boots[2].CrashReports);
        Assert.Contains("jbd2_journal_commit_transaction", boots[3].EndMessage);
        Assert.Empty(boots[4].CrashReports);
        // The last boot of a foreign journal is not "running"; told the current boot id, it is.
        var running = BootHistory.Read(reader, "t", JournalScenario.CutShort, [], ctx).Last();
        Assert.Equal(BootEnd.Running, running.End);
    }

    [Fact]
    public void PreviousBootCrash_HasTheTitleOfItsTextExport()
    {
        var ctx = new ParseContext("t");
        var fromJournal = KernelOopsParser.Parse(JournalKernelLog.Read(Dir, "-3", ctx), ctx).ToList();
        string export = Path.Combine(S.Directory, "panic-boot.txt");
        File.WriteAllText(export, JournalFixture.Journalctl(["-D", S.Directory, "-k", "-b", JournalScenario.Panic, "-o", "short-monotonic", "--no-pager"]));
        var fromText = KernelOopsParser.Parse(KernelLog.ReadFile(export, ctx), ctx).ToList();
        Assert.Single(fromJournal);
        Assert.Equal(fromText.Select(o => o.Title), fromJournal.Select(o => o.Title));
        Assert.True(fromJournal[0].Panicked);
        Assert.Equal(fromText[0].Signature, fromJournal[0].Signature);
    }

    [Fact]
    public void DamagedFile_IsNamedInAWarning_AndEveryReadableEntryIsRead()
    {
        var entries = Enumerable.Range(0, 3000).Select(i => JournalFixture.Kernel(JournalScenario.Reboot, JournalScenario.Start, TimeSpan.FromMilliseconds(10 + i),
            $"filler message {i} " + new string('x', 80))).ToList();
        string good = S.Directory + "/big/ok.journal";
        var fixture = JournalFixture.Create();
        try
        {
            good = fixture.Write("ok.journal", entries);
            var bytes = File.ReadAllBytes(good);
            int firstData = IndexOf(bytes, "MESSAGE=filler"u8);
            int end = LastNonZero(bytes);
            Assert.True(firstData > 0 && end > firstData);

            // Damage in the middle of the entries: libsystemd skips what it cannot read; we read what it reads.
            string damaged = Path.Combine(fixture.Directory, "damaged.journal");
            var copy = (byte[])bytes.Clone();
            Array.Fill(copy, (byte)0xff, firstData + (end - firstData) / 2, 4000);
            File.WriteAllBytes(damaged, copy);
            var ctx = new ParseContext("t");
            var read = JournalKernelLog.Read(new JournalLocation { Paths = [damaged] }, null, ctx).ToList();
            int oracle = Oracle("--file", damaged).Count;
            Assert.True(oracle == read.Count, string.Join("\n", ctx.Issues.Take(5)) + $" ours {read.Count} oracle {oracle}");
            Assert.InRange(read.Count, 100, entries.Count - 1);
            Assert.Contains(ctx.Issues, i => i.Source == damaged);

            // Cut short: libsystemd refuses the file, so it is read from a padded copy up to the cut.
            string cut = Path.Combine(fixture.Directory, "cut.journal");
            File.WriteAllBytes(cut, bytes[..(firstData + (end - firstData) / 2)]);
            Assert.Empty(Oracle("--file", cut));
            ctx = new ParseContext("t");
            var partial = JournalKernelLog.Read(new JournalLocation { Paths = [cut, good] }, null, ctx).Where(m => m.Source == cut).ToList();
            var issue = Assert.Single(ctx.Issues);
            Assert.Equal(cut, issue.Source);
            Assert.Contains("truncated", issue.Message);
            Assert.InRange(partial.Count, 100, entries.Count - 1);
            Assert.Equal(entries.Take(partial.Count).Select(e => e.Message), partial.Select(m => m.Text));
            Assert.Empty(Directory.EnumerateFiles(Path.GetTempPath(), $"kerneldebug-{Environment.ProcessId}-*.journal"));
        }
        finally { fixture.Dispose(); }
    }

    [Fact]
    public void CrashArchives_AreFoundUnderARoot_AndAttachedToTheBootThatCrashed()
    {
        using var s = JournalScenario.Create("root/var/log/journal");
        string root = Path.Combine(s.Directory, "root");
        // systemd-pstore archives early in the next boot.
        string pstore = Path.Combine(root, "var/lib/systemd/pstore/179576590001");
        Directory.CreateDirectory(pstore);
        string part = Path.Combine(pstore, "dmesg-efi-179576590001001");
        File.WriteAllLines(part, ["Panic#1 Part1", .. JournalScenario.PanicReport.Select((l, i) => string.Create(CultureInfo.InvariantCulture, $"<4>[18000.{i:D6}] {l}"))]);
        File.SetLastWriteTimeUtc(part, JournalScenario.BootTime(2).UtcDateTime.AddSeconds(40));
        // kdump writes from the crash kernel, named by the local crash time.
        var crash = JournalScenario.BootTime(3).AddHours(5).AddMinutes(2).ToLocalTime();
        string stamp = crash.ToString("yyyyMMddHHmm", CultureInfo.InvariantCulture);
        string kdump = Path.Combine(root, "var/crash", stamp);
        Directory.CreateDirectory(kdump);
        File.WriteAllLines(Path.Combine(kdump, "dmesg." + stamp),
            [.. JournalScenario.HungReport.Select((l, i) => string.Create(CultureInfo.InvariantCulture, $"[18000.{i:D6}] {l}")),
             "[18001.000000] Kernel panic - not syncing: hung_task: blocked tasks"]);

        var ctx = new ParseContext("t");
        var archives = CrashArchives.Find(new KernelRoot(root), ctx);
        Assert.Empty(ctx.Issues);
        Assert.Equal([CrashArchiveKind.SystemdPstore, CrashArchiveKind.Kdump], archives.Select(a => a.Kind));
        Assert.Contains("nvme_setup_io_queues", archives[0].ReportTitles);
        Assert.Contains("jbd2_journal_commit_transaction", archives[1].ReportTitles);

        using var reader = JournalReader.Open(JournalReader.FindFiles(new KernelRoot(root)), ctx);
        var boots = BootHistory.Read(reader, "t", null, archives, ctx).ToDictionary(b => b.BootId);
        Assert.Equal(archives[0], Assert.Single(boots[JournalScenario.Panic].Archives));
        Assert.Equal(archives[1], Assert.Single(boots[JournalScenario.Hung].Archives));
        Assert.Empty(boots[JournalScenario.Shutdown].Archives);
        // The journal's panic and pstore's copy of it are the same bug.
        Assert.Equal(boots[JournalScenario.Panic].CrashReports[0].Title, archives[0].Reports[0].Title);
    }

    private static int IndexOf(byte[] data, ReadOnlySpan<byte> needle) => data.AsSpan().IndexOf(needle);

    private static int LastNonZero(byte[] data)
    {
        for (int i = data.Length - 1; i >= 0; i--) if (data[i] != 0) return i;
        return -1;
    }
}

/// <summary>KD1104 reads the previous boot through the same journal reader.</summary>
public sealed class PreviousBootHealthTests
{
    private static List<Health.KernelHealthFinding> Run(KernelRoot root) =>
        Health.HealthCheckRunner.Run(Health.HealthChecks.All.Where(c => c.CheckId == "KD1104"),
            new Health.HealthContext(root, new Health.HealthThresholds(), TimeSpan.FromMilliseconds(200), CancellationToken.None)).ToList();

    [Fact]
    public void PreviousBoot_IsJudgedFromTheJournalUnderTheRoot()
    {
        Assert.SkipWhen(JournalFixture.WhyUnavailable() is not null, JournalFixture.WhyUnavailable() ?? "");
        using var s = JournalScenario.Create("root/var/log/journal");
        string root = Path.Combine(s.Directory, "root");
        // Running the last boot of the journal: the previous one is the boot with the hung task near its end.
        Directory.CreateDirectory(Path.Combine(root, "proc/sys/kernel/random"));
        File.WriteAllText(Path.Combine(root, "proc/sys/kernel/random/boot_id"), "55555555-5555-5555-5555-555555555555\n");
        var f = Assert.Single(Run(new KernelRoot(root)));
        Assert.Equal(Health.HealthSeverity.Error, f.Severity);
        Assert.Contains("jbd2_journal_commit_transaction", f.Message);
        // Running an unknown boot (a snapshot of a machine whose journal ends with the cut-short boot): the log just stops.
        File.WriteAllText(Path.Combine(root, "proc/sys/kernel/random/boot_id"), "66666666-6666-6666-6666-666666666666\n");
        Assert.Equal(Health.HealthSeverity.Warning, Assert.Single(Run(new KernelRoot(root))).Severity);
        // No journal at all: the end of the previous boot is unknown, and the finding says how to keep one.
        using var bare = FixtureTree.Create();
        var none = Assert.Single(Run(bare.Root));
        Assert.Equal(Health.HealthSeverity.Info, none.Severity);
        Assert.Contains("/var/log/journal", none.Recommendation);
    }
}
