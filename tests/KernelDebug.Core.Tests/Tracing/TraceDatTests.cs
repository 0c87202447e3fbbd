using System.Diagnostics;
using System.Text.RegularExpressions;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Tracing;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests.Tracing;

/// <summary>
/// trace-cmd files written here by trace-cmd itself, from an instance this test set up and filled.
/// trace-cmd extract resets the top instance as part of its work (it writes 0 to events/enable, nop to
/// current_tracer and clears every top-level event filter), and on a fresh boot that expands the top ring buffer
/// from its boot-time "7 (expanded: 1408)" to 1410 (1408 KiB in whole sub-buffers). That is trace-cmd's doing, not ours: our own part (instance,
/// events, recording) is compared byte for byte before trace-cmd runs, and the whole test then allows only
/// that expansion.
/// </summary>
[Collection(TraceCmdCollection.Name)]
public sealed class TraceDatTests : IDisposable
{
    private static readonly Lazy<(string Dir, int Pid, string Instance, bool ExtractRemovedIt, IReadOnlyList<string> OursChanged)> Files = new(Record);
    private readonly TraceFsState _before = TraceFsState.Capture();

    public void Dispose()
    {
        var changed = _before.Differences(TraceFsState.Capture(), allowBufferExpansion: true);
        Assert.True(changed.Count == 0, "the top instance changed: " + string.Join("; ", changed));
    }

    private static ProcessResult Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Unprivileged.Run(psi, TimeSpan.FromMinutes(2));
    }

    private static (string, int, string, bool, IReadOnlyList<string>) Record()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"kd-dat-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        var fs = TraceFs.Locate(KernelRoot.Live);
        var before = TraceFsState.Capture(fs.Path);
        using var s = FtraceSession.Create(fs, new FtraceCaptureOptions { Events = ["sched:sched_process_exec", "raw_syscalls:sys_enter"], Filter = null }, new ParseContext("dat"));
        int pid;
        using (var p = Process.Start(new ProcessStartInfo("/usr/bin/true") { UseShellExecute = false })!) { p.WaitForExit(); pid = p.Id; }
        s.Stop();
        var oursChanged = before.Differences(TraceFsState.Capture(fs.Path));
        var r = Run("trace-cmd", "extract", "-B", s.Name, "-o", Path.Combine(dir, "v7zstd.dat"));
        Assert.True(File.Exists(Path.Combine(dir, "v7zstd.dat")), r.ToString());
        bool removed = !Directory.Exists(s.Directory);
        Run("trace-cmd", "convert", "-i", Path.Combine(dir, "v7zstd.dat"), "-o", Path.Combine(dir, "v6.dat"), "--file-version", "6", "--compression", "none");
        Run("trace-cmd", "convert", "-i", Path.Combine(dir, "v7zstd.dat"), "-o", Path.Combine(dir, "v7none.dat"), "--file-version", "7", "--compression", "none");
        return (dir, pid, s.Name, removed, oursChanged); // disposing the session removes the instance if trace-cmd did not
    }

    [Fact]
    public void OurCapture_LeavesTheTopInstanceAsFound_BeforeTraceCmdTouchesIt()
    {
        if (WhyUnavailable() is string why) Assert.Skip(why);
        Assert.Empty(Files.Value.OursChanged);
    }

    private static string? WhyUnavailable() =>
        File.Exists("/usr/bin/trace-cmd") ? null : "trace-cmd is not installed (build.ps1 Bootstrap installs it for tests)";

    [Theory]
    [InlineData("v7zstd.dat", 7, "zstd")]
    [InlineData("v7none.dat", 7, "none")]
    [InlineData("v6.dat", 6, "none")]
    public void TraceCmdFiles_DecodeToWhatTraceCmdReports(string file, int version, string compression)
    {
        if (WhyUnavailable() is string why) Assert.Skip(why);
        var (dir, pid, instance, _, _) = Files.Value;
        string path = Path.Combine(dir, file);
        Assert.True(File.Exists(path), $"trace-cmd did not write {file}");
        var ctx = new ParseContext(path);
        using var stream = File.OpenRead(path);
        var dat = TraceDatFile.Open(stream, ctx)!;
        Assert.Equal((version, compression, 8), (dat.Version, dat.Compression, dat.LongSize));
        Assert.Contains(dat.Buffers, b => b.Name == instance);
        var events = dat.ReadEvents().ToList();
        Assert.Empty(ctx.Issues);

        // trace-cmd's own rendering of the same file: same count, same timestamps, pids and exec file names.
        var report = Run("trace-cmd", "report", "-i", path).StdOut.Split('\n');
        var rx = new Regex(@"-(?<pid>\d+)\s+\[(?<cpu>\d+)\]\s+(?<ts>\d+\.\d+):\s+(?<ev>\w+):");
        var expected = report.Select(l => rx.Match(l)).Where(m => m.Success).ToList();
        Assert.Equal(expected.Count, events.Count);
        Assert.Equal(expected.Select(m => (int.Parse(m.Groups["pid"].Value), m.Groups["ev"].Value, m.Groups["ts"].Value)).Order(),
            events.Select(e => (e.ProcessId, e.Event, $"{(e.TimestampNanoseconds + 500) / 1000 / 1_000_000}.{(e.TimestampNanoseconds + 500) / 1000 % 1_000_000:D6}")).Order());
        var exec = Assert.Single(events, e => e.Event == "sched_process_exec" && e.ProcessId == pid);
        Assert.Equal("/usr/bin/true", exec.Fields["filename"]);
        Assert.Contains(events, e => e.Event == "sys_enter" && e.ProcessId == pid && (long)e.Fields["id"]! == 231);
        Assert.Equal("true", exec.Command);
    }

    [Fact]
    public void Extract_RemovesTheInstanceItRead_AndNoneOfOursIsLeft()
    {
        if (WhyUnavailable() is string why) Assert.Skip(why);
        var (_, _, instance, removed, _) = Files.Value;
        Assert.True(removed, $"trace-cmd extract -B {instance} left the instance in place");
        Assert.DoesNotContain(instance, TraceFsState.InstancesOf(Environment.ProcessId));
    }

    [Fact]
    public void TruncatedAndGarbageFiles_WarnNeverThrow()
    {
        if (WhyUnavailable() is string why) Assert.Skip(why);
        var (dir, _, _, _, _) = Files.Value;
        foreach (var file in new[] { "v6.dat", "v7none.dat", "v7zstd.dat" })
        {
            var bytes = File.ReadAllBytes(Path.Combine(dir, file));
            var rng = new Random(file.Length);
            for (int i = 0; i < 12; i++)
            {
                byte[] bad = i < 6 ? bytes[..(int)(bytes.Length * (0.05 + i * 0.18))] : (byte[])bytes.Clone();
                if (i >= 6) for (int k = 0; k < 64; k++) bad[rng.Next(bad.Length)] = (byte)rng.Next(256);
                var ctx = new ParseContext(file);
                var dat = TraceDatFile.Open(new MemoryStream(bad), ctx);
                int n = dat?.ReadEvents().Count() ?? 0;
                if (i < 6 && bad.Length < bytes.Length) Assert.True(ctx.Issues.Count > 0 || n == 0, $"{file} cut to {bad.Length} bytes gave no warning");
            }
            var junk = new ParseContext("junk");
            Assert.Null(TraceDatFile.Open(new MemoryStream(System.Text.Encoding.ASCII.GetBytes(Mangle.RandomText(4000, 3))), junk));
            Assert.NotEmpty(junk.Issues);
        }
    }
}

/// <summary>
/// trace-cmd runs alone: it reads /proc/kallsyms and gives up when the file's size changes while it reads, which
/// every BPF program loaded or freed by a parallel test does; and it briefly turns the top instance's tracing_on off,
/// which the ftrace tests compare before and after.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TraceCmdCollection
{
    public const string Name = "trace-cmd";
}
