using KernelDebug.Core;
using KernelDebug.Core.Inventory;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Procfs;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests;

/// <summary>One live snapshot shared by the tests below (taking one reads ~10k files).</summary>
public sealed class LiveSnapshot : IDisposable
{
    public LiveSnapshot()
    {
        // Other tests mount tracefs on a fresh boot; mount it first so the live answers cannot change between the
        // snapshot and the comparison.
        KernelDebug.Core.Tracing.TraceFs.Locate(KernelRoot.Live);
        Manifest = SnapshotWriter.Write(KernelRoot.Live, Tree.Path);
        Root = Tree.Root;
    }
    public FixtureTree Tree { get; } = FixtureTree.Create();
    public SnapshotManifest Manifest { get; }
    public KernelRoot Root { get; }
    public void Dispose() => Tree.Dispose();
}

public class SnapshotTests(LiveSnapshot snap) : IClassFixture<LiveSnapshot>
{
    [Fact]
    public void KernelInfo_FromSnapshot_IsThisMachine()
    {
        var live = KernelInfoReader.Read(KernelRoot.Live, new ParseContext("live"));
        var saved = KernelInfoReader.Read(snap.Root, new ParseContext("snap"));
        Assert.Equal(live.Release, saved.Release);
        Assert.Equal(live.HostName, saved.HostName);
        Assert.Equal(live.Version, saved.Version);
        Assert.Equal(live.Architecture, saved.Architecture);
        Assert.Equal(live.BootTime, saved.BootTime);
        Assert.Equal(live.CpuCount, saved.CpuCount);
        Assert.Equal(live.NumaNodes, saved.NumaNodes);
        Assert.Equal(live.PageSize, saved.PageSize);
        Assert.Equal(live.CommandLine, saved.CommandLine);
        Assert.Equal(live.Taint?.Value, saved.Taint?.Value);
        Assert.Equal(live.Lockdown, saved.Lockdown);
        Assert.Equal(live.PstoreBackend, saved.PstoreBackend);
        Assert.InRange(live.Uptime!.Value - saved.Uptime!.Value, TimeSpan.Zero, TimeSpan.FromMinutes(10));
    }

    [Fact]
    public void Manifest_DescribesTheCapture()
    {
        var m = SnapshotManifest.TryRead(snap.Root)!;
        Assert.Equal(Environment.SystemPageSize, m.PageSize);
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/osrelease").Trim(), m.Release);
        Assert.Equal(snap.Manifest.FileCount, m.FileCount);
        Assert.True(m.FileCount > 100);
        Assert.Contains("sys/kernel/btf/vmlinux", m.Omitted);
        // Procfs reports size 0; the copy must still hold the content.
        Assert.True(new FileInfo(Path.Combine(snap.Tree.Path, "proc/meminfo")).Length > 100);
        Assert.All(m.Failed, f => Assert.False(string.IsNullOrEmpty(f.Reason)));
        // A file the kernel refuses is a recorded failure, not an exception: under lockdown, available_filter_functions.
        // The same rule the writer uses: with debugfs mounted there are two tracefs mounts, and which one a test
        // picks must not differ from the module's choice.
        string? tracefs = KernelDebug.Core.Tracing.TraceFs.TryLocate(KernelRoot.Live)?.Path;
        if (tracefs is not null)
        {
            bool readable;
            try { using var f = File.OpenRead(Path.Combine(tracefs, "available_filter_functions")); f.ReadByte(); readable = true; }
            catch (UnauthorizedAccessException) { readable = false; }
            string rel = tracefs.TrimStart('/') + "/available_filter_functions";
            Assert.Equal(!readable, m.Failed.Any(f => f.Path == rel && f.Reason.Contains("Permission denied")));
        }
    }

    [Fact]
    public void Readers_GiveTheSameAnswers()
    {
        Assert.Equal(MemInfoReader.Read(KernelRoot.Live, new ParseContext("l")).MemTotal, MemInfoReader.Read(snap.Root, new ParseContext("s")).MemTotal);
        Assert.Equal(KernelConfigReader.Read(KernelRoot.Live, new ParseContext("l")).Options.Count, KernelConfigReader.Read(snap.Root, new ParseContext("s")).Options.Count);
        var live = new DebugCapabilities(KernelRoot.Live).ProbeAll().Where(c => c.Name != "Kallsyms").Select(c => (c.Name, c.Available));
        var saved = new DebugCapabilities(snap.Root).ProbeAll().Where(c => c.Name != "Kallsyms").Select(c => (c.Name, c.Available));
        Assert.Equal(live, saved);
        var sysctl = SysctlReader.Read(snap.Root, n => n.StartsWith("kernel."));
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/hostname").Trim(), sysctl.Single(e => e.Name == "kernel.hostname").Value);
        Assert.False(sysctl.Single(e => e.Name == "kernel.osrelease").Writable);
        Assert.True(sysctl.Single(e => e.Name == "kernel.panic").Writable);
    }

    [Fact]
    public void Kmsg_IsSavedAsRecords()
    {
        string path = Path.Combine(snap.Tree.Path, "dev/kmsg");
        if (!File.Exists(path)) Assert.Fail("dev/kmsg missing: " + string.Join("; ", snap.Manifest.Failed.Select(f => f.Path + ": " + f.Reason)));
        var lines = File.ReadAllLines(path).Where(l => l.Length > 0 && l[0] != ' ').ToArray();
        Assert.NotEmpty(lines);
        // "<prio>,<seq>,<usec>,<flags>;text"
        Assert.All(lines, l => Assert.Matches(@"^\d+,\d+,\d+,[^;]*;", l));
    }

    [Fact]
    public void Archive_RoundTrips()
    {
        using var tmp = FixtureTree.Create();
        string archive = Path.Combine(tmp.Path, "snap.tar.gz");
        var m = SnapshotWriter.WriteArchive(KernelRoot.Live, archive);
        Assert.True(new FileInfo(archive).Length > 1000);
        string dir = Path.Combine(tmp.Path, "x");
        string top = SnapshotWriter.ExtractArchive(archive, dir);
        Assert.Equal(Path.Combine(dir, "snap"), top);
        Assert.Equal(["snap"], Directory.GetFileSystemEntries(dir).Select(Path.GetFileName));
        var root = new KernelRoot(top);
        Assert.Equal(m.Release, KernelInfoReader.Read(KernelRoot.Open(archive), new ParseContext("x")).Release);
        Assert.Equal(m.Release, KernelInfoReader.Read(root, new ParseContext("x")).Release);
        Assert.Equal(Environment.SystemPageSize, root.PageSize);
        Assert.False(SysctlReader.TryGet(root, "kernel.osrelease")!.Writable);
    }

    [Theory]
    [InlineData("1234 (kworker/0:1) D 2 0 0 0 -1", 'D')]
    [InlineData("77 (evil) S (name)) R 1 77", 'R')]
    [InlineData("5 (sleep) S 1", 'S')]
    [InlineData("garbage", '\0')]
    [InlineData("9 (x)", '\0')]
    public void TaskState_IsTheLetterAfterTheLastParen(string stat, char state) => Assert.Equal(state, SnapshotWriter.TaskState(stat));

    [Fact]
    public void WriteOnlyFilesAreSkipped_AndOtherRootsCopy()
    {
        using var src = FixtureTree.CopyOf("inventory", "db1");
        File.SetUnixFileMode(Path.Combine(src.Path, "proc/meminfo"), UnixFileMode.None);
        using var dest = FixtureTree.Create();
        var m = SnapshotWriter.Write(src.Root, dest.Path);
        // Mode 000 without read bits is treated as write-only: skipped, not failed (root could read it anyway).
        Assert.False(File.Exists(Path.Combine(dest.Path, "proc/meminfo")));
        Assert.Equal("db1", m.HostName);
        Assert.True(File.Exists(Path.Combine(dest.Path, "boot/config-6.1.0-18-amd64")));
        Assert.True(File.Exists(Path.Combine(dest.Path, "sys/devices/system/node/node1/meminfo")));
        Assert.True(Directory.Exists(Path.Combine(dest.Path, "sys/kernel/tracing/events/kmem")));
    }
}
