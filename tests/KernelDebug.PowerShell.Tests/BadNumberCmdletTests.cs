using KernelDebug.Core.Health;
using KernelDebug.Core.Inventory;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.PowerShell.Tests;

/// <summary>The reported case through the cmdlets: a /proc/uptime with numbers past any duration gives a warning, not an OverflowException.</summary>
public class BadNumberCmdletTests
{
    private static FixtureTree HugeUptimeTree()
    {
        var tree = FixtureTree.CopyOf("inventory", "web1");
        tree.File("proc/uptime", "99999999999999999999999.99 1e30\n");
        return tree;
    }

    [Fact]
    public void GetKernelInfo_HugeUptime_WarnsNamingFileAndLine()
    {
        using var tree = HugeUptimeTree();
        var r = PsRunner.Run("Get-KernelInfo -Root $root", new Dictionary<string, object?> { ["root"] = tree.Path });
        Assert.True(r.Terminating is null, r.ToString());
        Assert.Empty(r.Errors);
        var info = Assert.Single(r.Objects<KernelInfo>());
        Assert.Null(info.Uptime);
        Assert.Equal("web1", info.HostName);
        Assert.Contains(r.Warnings, w => w.Contains("proc/uptime:1") && w.Contains("99999999999999999999999.99"));
    }

    [Fact]
    public void InvokeKernelHealthCheck_HugeUptime_CompletesWithAWarning()
    {
        using var tree = HugeUptimeTree();
        var good = PsRunner.Run("Invoke-KernelHealthCheck -Root $root", new Dictionary<string, object?> { ["root"] = TestPaths.Fixture("inventory", "web1") });
        var r = PsRunner.Run("Invoke-KernelHealthCheck -Root $root", new Dictionary<string, object?> { ["root"] = tree.Path });
        Assert.True(r.Terminating is null, r.ToString());
        Assert.Empty(r.Errors);
        Assert.Equal(good.Objects<KernelHealthFinding>().Select(f => f.CheckId), r.Objects<KernelHealthFinding>().Select(f => f.CheckId));
        Assert.Contains(r.Warnings, w => w.Contains("proc/uptime:1"));
    }
}
