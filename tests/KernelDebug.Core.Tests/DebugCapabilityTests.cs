using KernelDebug.Core;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Inventory;
using KernelDebug.Core.Parsing;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests;

public class DebugCapabilityTests
{
    private static Dictionary<string, DebugCapability> All(KernelRoot root) =>
        new DebugCapabilities(root).ProbeAll().ToDictionary(c => c.Name);

    [Fact]
    public void EveryFacilityOfTheIssueIsProbed()
    {
        string[] required =
        [
            "TraceFs", "DebugFs", "BpfFs", "Btf", "BpfSyscall", "BpfJit", "UnprivilegedBpf", "Kprobes", "Uprobes", "Fentry",
            "FunctionTracer", "FunctionGraphTracer", "Tracepoint.raw_syscalls", "Tracepoint.sched", "Tracepoint.block", "Tracepoint.kmem",
            "Tracepoint.lock", "PerfEvents", "KptrRestrict", "Kallsyms", "Lockdep", "ProveLocking", "LockStat", "Kasan", "Kfence",
            "SlubDebug", "Kmemleak", "HungTaskDetector", "SoftLockupDetector", "HardLockupDetector", "Kdump", "Pstore", "Edac", "Mce",
            "MagicSysRq", "DebugKernel",
        ];
        Assert.Equal(required.Order(), DebugCapabilities.Names.Order());
        Assert.All(new DebugCapabilities(KernelRoot.Live).ProbeAll(), c =>
        {
            if (c.Available) Assert.Null(c.Reason);
            else { Assert.False(string.IsNullOrEmpty(c.Reason), c.Name); Assert.False(string.IsNullOrEmpty(c.Remedy), c.Name); }
        });
    }

    [Fact]
    public void Live_MatchesThisMachine()
    {
        // Other tests mount tracefs through the module on a fresh boot; mount it first the same way, so the probe and
        // /proc/mounts below see one state (the unmounted state is tested in a private mount namespace).
        KernelDebug.Core.Tracing.TraceFs.Locate(KernelRoot.Live);
        var c = All(KernelRoot.Live);
        Assert.Equal(File.Exists("/sys/kernel/btf/vmlinux"), c["Btf"].Available);
        var config = KernelConfigReader.TryRead(KernelRoot.Live);
        if (config is not null)
        {
            Assert.Equal(config.IsEnabled("KPROBES"), c["Kprobes"].Available);
            if (!config.IsEnabled("KPROBES")) Assert.Contains("CONFIG_KPROBES", c["Kprobes"].Reason);
            Assert.Equal(config.IsEnabled("DEBUG_KERNEL"), c["DebugKernel"].Available);
            Assert.Equal(config.IsEnabled("KASAN"), c["Kasan"].Available);
        }
        var mounts = File.ReadAllLines("/proc/mounts").Select(l => l.Split(' ')).ToArray();
        Assert.Equal(mounts.Any(m => m[2] == "tracefs"), c["TraceFs"].Available);
        Assert.Equal(mounts.Any(m => m[2] == "debugfs"), c["DebugFs"].Available);
        Assert.Equal(mounts.Any(m => m[2] == "bpf"), c["BpfFs"].Available);
        if (!c["DebugFs"].Available) Assert.Contains("mount -t debugfs", c["DebugFs"].Remedy);
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/unprivileged_bpf_disabled").Trim() == "0", c["UnprivilegedBpf"].Available);
    }

    [Fact]
    public void Live_FunctionTracerRefusedByLockdown_DetectedWithoutChangingState()
    {
        // This kernel has tracefs; on a fresh boot it is not mounted yet, so mount it the way the module does.
        string tracefs = KernelDebug.Core.Tracing.TraceFs.Locate(KernelRoot.Live).Resolve("");
        string before = File.ReadAllText(Path.Combine(tracefs, "current_tracer"));
        bool listed = File.ReadAllText(Path.Combine(tracefs, "available_tracers")).Split(' ', '\n').Contains("function");
        bool readable;
        try { using var f = File.OpenRead(Path.Combine(tracefs, "available_filter_functions")); f.ReadByte(); readable = true; }
        catch (UnauthorizedAccessException) { readable = false; }
        var ft = new DebugCapabilities(KernelRoot.Live).Probe("FunctionTracer");
        Assert.Equal(listed && readable, ft.Available);
        if (listed && !readable)
        {
            Assert.Contains("EPERM", ft.Reason);
            Assert.Contains("lockdown", ft.Reason);
            Assert.Contains("listed", ft.Reason);
        }
        Assert.Equal(before, File.ReadAllText(Path.Combine(tracefs, "current_tracer")));
    }

    [Fact]
    public void Fixture_Db1_AServerWithEverythingButLockdown()
    {
        var c = All(FixtureTree.Open("inventory", "db1"));
        Assert.True(c["Kprobes"].Available);
        Assert.True(c["Btf"].Available, "BTF is listed as omitted in the manifest");
        Assert.True(c["FunctionTracer"].Available);
        Assert.True(c["FunctionGraphTracer"].Available);
        Assert.True(c["Fentry"].Available);
        Assert.True(c["Tracepoint.sched"].Available);
        Assert.Contains("2 events", c["Tracepoint.sched"].Detail);
        Assert.False(c["Tracepoint.lock"].Available);
        Assert.True(c["DebugFs"].Available && c["BpfFs"].Available);
        Assert.True(c["SlubDebug"].Available, "slub_debug=FZ is on the command line");
        Assert.False(c["HungTaskDetector"].Available);
        Assert.Contains("hung_task_timeout_secs", c["HungTaskDetector"].Reason);
        Assert.True(c["HardLockupDetector"].Available);
        Assert.False(c["Kdump"].Available);
        Assert.Contains("no crash kernel is loaded", c["Kdump"].Reason);
        Assert.True(c["Pstore"].Available);
        Assert.False(c["Edac"].Available);
        Assert.Contains("no memory-controller driver", c["Edac"].Reason);
        Assert.False(c["Mce"].Available);
        Assert.Contains("CONFIG_X86_MCE is set", c["Mce"].Reason);
        Assert.True(c["MagicSysRq"].Available);
        Assert.True(c["Kfence"].Available);
        Assert.False(c["UnprivilegedBpf"].Available);
    }

    [Fact]
    public void NoTraceFs_TracepointsSaySoInReason()
    {
        using var tree = FixtureTree.Create().File("proc/mounts", "proc /proc proc rw 0 0\n").File("proc/sys/kernel/osrelease", "6.1.0\n");
        var c = All(tree.Root);
        foreach (var family in DebugCapabilities.TracepointFamilies)
        {
            Assert.False(c["Tracepoint." + family].Available);
            Assert.Contains("tracefs is not mounted", c["Tracepoint." + family].Reason);
            Assert.Contains("mount -t tracefs", c["Tracepoint." + family].Remedy);
        }
        Assert.Contains("no /proc/config.gz", c["Kasan"].Reason);
    }

    [Fact]
    public void Require_ThrowsWithTheRemedy()
    {
        using var tree = FixtureTree.Create().File("proc/mounts", "proc /proc proc rw 0 0\n");
        var probes = new DebugCapabilities(tree.Root);
        var e = Assert.Throws<KernelDebugException>(() => probes.Require("TraceFs"));
        Assert.Equal("TraceFsUnavailable", e.ErrorId);
        Assert.Equal(KernelErrorCategory.ResourceUnavailable, e.Category);
        Assert.Equal("mount -t tracefs nodev /sys/kernel/tracing", e.Remedy);
        var tp = Assert.Throws<KernelDebugException>(() => probes.Require("tracepoint.sched"));
        Assert.Equal("TracepointUnavailable", tp.ErrorId);
        Assert.Equal("Tracepoint.sched", tp.Target);
        Assert.Throws<ArgumentException>(() => probes.Probe("NoSuchFacility"));
        Assert.True(new DebugCapabilities(FixtureTree.Open("inventory", "db1")).Require("Kprobes").Available);
    }
}
