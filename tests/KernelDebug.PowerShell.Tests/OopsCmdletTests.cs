using KernelDebug.Core.Oops;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.PowerShell.Tests;

public class OopsCmdletTests
{
    private static readonly string Dir = TestPaths.Fixture("oops");

    private static Dictionary<string, object?> Vars(params (string, object?)[] v) => v.ToDictionary(x => x.Item1, x => x.Item2);

    [Fact]
    public void Path_ReadsEveryReportOfAFile()
    {
        var r = PsRunner.Run("Get-KernelOops -Path $p", Vars(("p", Path.Combine(Dir, "two-warnings.log"))));
        Assert.Null(r.Terminating);
        Assert.Empty(r.Errors);
        Assert.Equal(["WARNING in drm_wait_one_vblank", "WARNING in ext4_set_page_dirty", "INFO: task hung in jbd2_journal_commit_transaction"],
            r.Objects<KernelOops>().Select(o => o.Title));
    }

    [Fact]
    public void Path_WildcardsAndKindFilter()
    {
        var r = PsRunner.Run("Get-KernelOops -Path (Join-Path $d '*.log') -Kind Warning, NullPointerDereference", Vars(("d", Dir)));
        Assert.Null(r.Terminating);
        var kinds = r.Objects<KernelOops>().Select(o => o.Kind).ToList();
        Assert.Equal(3, kinds.Count);
        Assert.DoesNotContain(OopsKind.HungTask, kinds);
        Assert.Contains(OopsKind.NullPointerDereference, kinds);
    }

    [Fact]
    public void FilesFromGetChildItem_BindToPath()
    {
        var r = PsRunner.Run("Get-ChildItem $d -Filter *.log | Get-KernelOops | Group-Object Kind -NoElement | Sort-Object Name | ForEach-Object { '{0}={1}' -f $_.Name, $_.Count }",
            Vars(("d", Dir)));
        Assert.Null(r.Terminating);
        Assert.Equal(["HungTask=1", "NullPointerDereference=1", "Warning=2"], r.Output.Select(o => o.ToString()));
    }

    [Fact]
    public void Pipeline_KernelMessagesIn_ReportsOut()
    {
        var messages = ConsoleText.Split(File.ReadAllText(Path.Combine(Dir, "two-warnings.log")), "piped").ToArray();
        var r = PsRunner.Run("$m | Get-KernelOops -Kind HungTask", Vars(("m", messages)));
        Assert.Null(r.Terminating);
        var o = Assert.Single(r.Objects<KernelOops>());
        Assert.Equal("INFO: task hung in jbd2_journal_commit_transaction", o.Title);
        Assert.Equal("piped", o.Source);
    }

    [Fact]
    public void Since_LeavesOutUndatedReports_AndSaysSo()
    {
        var r = PsRunner.Run("Get-KernelOops -Path $p -Since ([DateTimeOffset]::Now.AddDays(-1))", Vars(("p", Path.Combine(Dir, "two-warnings.log"))));
        Assert.Null(r.Terminating);
        Assert.Empty(r.Output);
        Assert.Contains(r.Warnings, w => w.Contains("3 crash report(s)", StringComparison.Ordinal));
    }

    [Fact]
    public void MissingFile_IsNonTerminatingErrorWithId()
    {
        var r = PsRunner.Run("Get-KernelOops -Path /nonexistent/kd/console.log, $p", Vars(("p", Path.Combine(Dir, "null-deref-module.log"))));
        Assert.Null(r.Terminating);
        var e = Assert.Single(r.Errors);
        Assert.StartsWith("KernelLogNotFound", e.FullyQualifiedErrorId);
        Assert.Single(r.Objects<KernelOops>());
    }

    [Fact]
    public void KmsgDevice_FindsAWarningInKmsgRecords()
    {
        // The report goes into a tree's dev/kmsg (the /dev/kmsg record format a snapshot keeps), never into the
        // real kernel log: a test must not leave a crash report that Get-KernelOops then finds on this machine.
        // Letters past 'f' only: titles normalise hex-looking parts to ADDR.
        string fn = "kd_marker_" + string.Concat(Guid.NewGuid().ToByteArray().Select(b => (char)('g' + b % 20)));
        var lines = new[]
        {
            $"WARNING: CPU: 0 PID: 1 at drivers/kd/test.c:42 {fn}+0x10/0x20", "Modules linked in:", "Call Trace:",
            $" {fn}+0x10/0x20", " kd_caller+0x1/0x2", "---[ end trace 0000000000000000 ]---",
        };
        using var tree = FixtureTree.Create();
        tree.File("proc/version", "Linux version 6.18.0\n");
        tree.File("dev/kmsg", string.Concat(lines.Select((l, i) => $"4,{i + 1},{1000000 + i},-;{l}\n")));
        var r = PsRunner.Run("Get-KernelOops -Kind Warning -Root $root", Vars(("root", tree.Path)));
        Assert.Null(r.Terminating);
        var o = Assert.Single(r.Objects<KernelOops>(), o => o.Title.Contains(fn));
        Assert.Equal($"WARNING in {fn}", o.Title);
        Assert.NotNull(o.Uptime);
    }

    [Fact]
    public void DefaultView_IsTimeKindTitlePanicked()
    {
        var r = PsRunner.Run("Get-KernelOops -Path $p | Format-Table | Out-String -Width 200", Vars(("p", Path.Combine(Dir, "null-deref-module.log"))));
        Assert.Null(r.Terminating);
        string text = string.Concat(r.Output.Select(o => o.ToString()));
        Assert.Matches(@"Time\s+Kind\s+Title\s+Panicked", text);
        Assert.Contains("NullPointerDereference", text);
        Assert.Contains("+4711.123s", text);
    }

    [Fact]
    public void CtrlC_StopsALongRead_AndKeepsWhatWasFound()
    {
        // A long log: the fixture's reports repeated with ordinary lines between them.
        string one = File.ReadAllText(Path.Combine(Dir, "two-warnings.log"));
        string big = Path.Combine(Path.GetTempPath(), $"kd-oops-stop-{Environment.ProcessId}.log");
        try
        {
            using (var w = new StreamWriter(big))
                for (int i = 0; i < 4000; i++) { w.Write(one); for (int k = 0; k < 30; k++) w.WriteLine($"[ 9.{k:D6}] ordinary message {k}"); }
            var sw = System.Diagnostics.Stopwatch.StartNew();
            var r = PsRunner.RunAndStop($"Get-KernelOops -Path '{big}'", TimeSpan.FromMilliseconds(400));
            sw.Stop();
            Assert.Null(r.Terminating);
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"stop took {sw.Elapsed}");
            Assert.True(r.Output.Count < 4000 * 3, "the read ran to the end instead of stopping");
        }
        finally { File.Delete(big); }
    }
}
