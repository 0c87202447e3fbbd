using KernelDebug.Core.Errors;
using KernelDebug.Core.Tracing;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests.Tracing;

/// <summary>The one rule for which tracefs a root has, on trees shaped like each mount state.</summary>
public class TraceFsTests
{
    private static FixtureTree TraceFsAt(FixtureTree t, string dir) =>
        t.File(dir + "/available_events", "sched:sched_switch\n").File(dir + "/events/sched/sched_switch/format", "name: sched_switch\nID: 1\n");

    [Fact]
    public void BothMounted_TheStandardPathWins_WhicheverIsListedLast()
    {
        using var t = FixtureTree.Create().File("proc/mounts",
            "nodev /sys/kernel/tracing tracefs rw 0 0\ndebugfs /sys/kernel/debug debugfs rw 0 0\ntracefs /sys/kernel/debug/tracing tracefs rw 0 0\n");
        TraceFsAt(TraceFsAt(t, "sys/kernel/tracing"), "sys/kernel/debug/tracing");
        Assert.Equal(TraceFs.StandardPath, TraceFs.TryLocate(t.Root)!.RelativePath);
        Assert.Equal(TraceFs.StandardPath, new KernelDebug.Core.Inventory.DebugCapabilities(t.Root).TraceFsPath);
    }

    [Fact]
    public void DebugFsOnly_UsesItsTracingDirectory_EvenBeforeTheAutomountIsListed()
    {
        using var t = FixtureTree.Create().File("proc/mounts", "debugfs /sys/kernel/debug debugfs rw 0 0\n");
        TraceFsAt(t, "sys/kernel/debug/tracing");
        Assert.Equal(TraceFs.DebugFsPath, TraceFs.TryLocate(t.Root)!.RelativePath);
        Assert.False(TraceFs.Locate(t.Root, mountIfMissing: true).MountedNow);
    }

    [Fact]
    public void ElsewhereMounted_TheMostRecentMountWins()
    {
        using var t = FixtureTree.Create().File("proc/mounts", "nodev /mnt/a tracefs rw 0 0\nnodev /mnt/b tracefs rw 0 0\n");
        TraceFsAt(TraceFsAt(t, "mnt/a"), "mnt/b");
        Assert.Equal("mnt/b", TraceFs.TryLocate(t.Root)!.RelativePath);
    }

    [Fact]
    public void NothingMounted_OfflineIsAnErrorWithTheMountCommand_AndNeverMounts()
    {
        using var t = FixtureTree.Create().File("proc/mounts", "proc /proc proc rw 0 0\n");
        Assert.Null(TraceFs.TryLocate(t.Root));
        var e = Assert.Throws<KernelDebugException>(() => TraceFs.Locate(t.Root, mountIfMissing: true));
        Assert.Equal("TraceFsNotMounted", e.ErrorId);
        Assert.Contains("mount -t tracefs nodev /sys/kernel/tracing", e.Remedy);
    }

    [Fact]
    public void Live_TestsAndModuleAgree()
    {
        var fs = TraceFs.Locate(KernelRoot.Live);
        Assert.Equal(fs.Path, TraceFsState.Locate());
        Assert.Equal(fs.RelativePath, new KernelDebug.Core.Inventory.DebugCapabilities(KernelRoot.Live).TraceFsPath);
    }

    /// <summary>The one change of the top instance the trace-cmd oracle tests allow: its first expansion after boot, as this kernel allocates it.</summary>
    [Theory]
    [InlineData("7 (expanded: 1408)\n", "1410\n", true)]
    [InlineData("7 (expanded: 1408)\n", "1408\n", true)]
    [InlineData("7 (expanded: 1408)\n", "1411\n", false)]
    [InlineData("7 (expanded: 1408)\n", "4096\n", false)]
    [InlineData("7 (expanded: 1408)\n", "X\n", false)]
    [InlineData("1410\n", "1410\n", false)]
    public void BufferExpansion_IsTheBootSizeRoundedToSubBuffers(string before, string after, bool expansion) =>
        Assert.Equal(expansion, TraceFsState.IsExpansion(before, after));
}
