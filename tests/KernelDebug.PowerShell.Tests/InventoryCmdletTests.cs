using KernelDebug.Core.Inventory;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.PowerShell.Tests;

public class InventoryCmdletTests
{
    [Fact]
    public void GetKernelInfo_Live_ReleaseMatchesUname()
    {
        var r = PsRunner.Run("Get-KernelInfo");
        Assert.Null(r.Terminating);
        var info = Assert.Single(r.Objects<KernelInfo>());
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/osrelease").Trim(), info.Release);
    }

    [Fact]
    public void GetKernelInfo_MissingRoot_IsTerminatingErrorWithId()
    {
        var r = PsRunner.Run("Get-KernelInfo -Root /nonexistent/kd-root");
        Assert.NotNull(r.Terminating);
        Assert.StartsWith("KernelRootNotFound", r.Terminating!.FullyQualifiedErrorId);
        Assert.Equal(System.Management.Automation.ErrorCategory.ObjectNotFound, r.Terminating.CategoryInfo.Category);
        Assert.False(string.IsNullOrEmpty(r.Terminating.ErrorDetails?.RecommendedAction));
    }

    [Fact]
    public void GetKernelInfo_FixtureRoot_GivesTheCapturedMachine()
    {
        var r = PsRunner.Run("Get-KernelInfo -Root $root", new Dictionary<string, object?> { ["root"] = TestPaths.Fixture("inventory", "web1") });
        Assert.Null(r.Terminating);
        var info = Assert.Single(r.Objects<KernelInfo>());
        Assert.Equal("web1", info.HostName);
        Assert.Equal("6.1.0-18-amd64", info.Release);
    }

    [Fact]
    public void Unprivileged_GetKernelInfo_StillWorks()
    {
        if (Unprivileged.WhyUnavailable() is { } why) Assert.Skip(why);
        var r = Unprivileged.RunPwsh("(Get-KernelInfo).Release");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/osrelease").Trim(), r.StdOut.Trim());
    }
}

public class PumpTests
{
    [Fact]
    public void PumpPerPipelineRecord_DoesNotTripTheStopToken()
    {
        // Get-KernelOops pumps once per piped file: every file must be read, not only the first.
        string dir = TestPaths.Fixture("oops");
        var files = Directory.GetFiles(dir, "*.log");
        Assert.True(files.Length >= 2);
        var r = PsRunner.Run("$files | Get-Item | Get-KernelOops", new Dictionary<string, object?> { ["files"] = files });
        Assert.Null(r.Terminating);
        var sources = r.Objects<KernelDebug.Core.Oops.KernelOops>().Select(o => Path.GetFileName(o.Source)).Distinct().Count();
        Assert.Equal(files.Length, sources);
    }
}
