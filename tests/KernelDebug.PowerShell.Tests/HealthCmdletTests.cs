using System.Management.Automation;
using KernelDebug.Core.Health;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.PowerShell.Tests;

public class HealthCmdletTests
{
    private static readonly Dictionary<string, object?> Web1 = new() { ["root"] = TestPaths.Fixture("inventory", "web1") };

    [Fact]
    public void Invoke_SelectsByWildcardAndExcludes()
    {
        var r = PsRunner.Run("Invoke-KernelHealthCheck -Root $root -CheckId KD11* -ExcludeCheckId KD1102", Web1);
        Assert.Null(r.Terminating);
        var ids = r.Objects<KernelHealthFinding>().Select(f => f.CheckId).Distinct().Order().ToList();
        var expected = HealthChecks.All.Select(c => c.CheckId).Where(id => id.StartsWith("KD11") && id != "KD1102").Order().ToList();
        Assert.Contains("KD1101", ids);
        Assert.Equal(expected, ids);
    }

    [Fact]
    public void Invoke_ByArea()
    {
        var r = PsRunner.Run("Invoke-KernelHealthCheck -Root $root -Area Locking", Web1);
        Assert.All(r.Objects<KernelHealthFinding>(), f => Assert.Equal(HealthArea.Locking, f.Area));
        Assert.NotEmpty(r.Objects<KernelHealthFinding>());
    }

    [Fact]
    public void Invoke_UnknownThreshold_IsTerminatingError()
    {
        var r = PsRunner.Run("Invoke-KernelHealthCheck -Root $root -Threshold @{ MemoryWarnPercent = 1 }", Web1);
        Assert.NotNull(r.Terminating);
        Assert.StartsWith("UnknownHealthThreshold", r.Terminating!.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, r.Terminating.CategoryInfo.Category);
    }

    [Fact]
    public void Invoke_ShowsProgress()
    {
        var r = PsRunner.Run("Invoke-KernelHealthCheck -Root $root", Web1);
        Assert.Contains(r.Progress, p => p.StatusDescription.StartsWith("KD1"));
    }

    [Fact]
    public void Assert_FailsAboveMaximumWithTheFindingsListed()
    {
        var r = PsRunner.Run("Invoke-KernelHealthCheck -Root $root -CheckId KD1001 | Assert-KernelHealth -MaximumSeverity Info", Web1);
        Assert.NotNull(r.Terminating);
        Assert.StartsWith("KernelHealthAssertionFailed", r.Terminating!.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidResult, r.Terminating.CategoryInfo.Category);
        Assert.Contains("KD1001", r.Terminating.Exception.Message);
    }

    [Fact]
    public void Assert_PassesWithinMaximum()
    {
        var r = PsRunner.Run("Assert-KernelHealth -Root $root -CheckId KD1001 -MaximumSeverity Warning -PassThru", Web1);
        Assert.Null(r.Terminating);
        Assert.Single(r.Objects<KernelHealthFinding>());
    }

    [Fact]
    public void Export_WritesTheFileAndHonoursWhatIf()
    {
        string file = Path.Combine(Path.GetTempPath(), $"kd-report-{Guid.NewGuid():N}.html");
        try
        {
            var vars = new Dictionary<string, object?>(Web1) { ["file"] = file };
            var w = PsRunner.Run("Export-KernelHealthReport -Root $root -Path $file -WhatIf", vars);
            Assert.False(File.Exists(file));
            var r = PsRunner.Run("Invoke-KernelHealthCheck -Root $root | Export-KernelHealthReport -Root $root -Path $file", vars);
            Assert.Null(r.Terminating);
            Assert.Equal(file, Assert.Single(r.Objects<FileInfo>()).FullName);
            Assert.Contains("web1", File.ReadAllText(file));
        }
        finally { File.Delete(file); }
    }
}
