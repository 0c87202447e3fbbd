using KernelDebug.Core;
using KernelDebug.Core.Inventory;
using KernelDebug.Core.Parsing;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests;

public class KernelInfoTests
{
    [Fact]
    public void Live_ReleaseAndHostMatchTheKernel()
    {
        var info = KernelInfoReader.Read(KernelRoot.Live, new ParseContext("/"));
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/osrelease").Trim(), info.Release);
        Assert.Equal(Environment.ProcessorCount, info.CpuCount);
        Assert.Equal(Environment.SystemPageSize, info.PageSize);
        Assert.NotNull(info.BootTime);
        Assert.InRange(info.BootTime!.Value, DateTimeOffset.UtcNow - info.Uptime!.Value - TimeSpan.FromMinutes(2), DateTimeOffset.UtcNow);
    }

    [Fact]
    public void Fixture_DecodesEverything()
    {
        var ctx = new ParseContext("web1");
        var info = KernelInfoReader.Read(FixtureTree.Open("inventory", "web1"), ctx);
        Assert.Empty(ctx.Issues);
        Assert.Equal("web1", info.HostName);
        Assert.Equal("6.1.0-18-amd64", info.Release);
        Assert.Equal("x86_64", info.Architecture);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1732000000), info.BootTime);
        Assert.Equal(TimeSpan.FromSeconds(123456.78), info.Uptime);
        Assert.Equal(8, info.CpuCount);
        Assert.Equal(new[] { 0, 1 }, info.NumaNodes);
        Assert.Equal("integrity", info.Lockdown);
        Assert.True(info.CrashKernelLoaded);
        Assert.Equal(268435456L, info.CrashKernelSize);
        Assert.Equal("efi_pstore", info.PstoreBackend);
        Assert.Equal(16384, info.PageSize);
        Assert.Equal(4609UL, info.Taint!.Value);
        Assert.Equal("PWO", info.Taint.Letters);
        Assert.Contains(info.Parameters, p => p.Name == "crashkernel" && p.Value == "256M");
        Assert.Contains(info.Parameters, p => p.Name == "quiet" && p.Value is null);
        Assert.DoesNotContain(info.Parameters, p => p.Name == "--init-arg");
    }

    [Fact]
    public void Garbage_WarnsAndNeverThrows()
    {
        using var tree = FixtureTree.CopyOf("inventory", "web1");
        tree.File("proc/uptime", Mangle.Garbage(tree.Read("proc/uptime"), 3) + "\nnot-a-number")
            .File("proc/sys/kernel/tainted", "zz")
            .File("sys/devices/system/cpu/online", "0-x,3");
        var ctx = new ParseContext("garbage");
        var info = KernelInfoReader.Read(tree.Root, ctx);
        Assert.Null(info.Taint);
        Assert.Contains(ctx.Issues, i => i.Message.Contains("tainted"));
        Assert.Contains(ctx.Issues, i => i.Message.Contains("CPU range"));
    }

    [Theory]
    [InlineData("", new string[0])]
    [InlineData("a b=c", new[] { "a", "b=c" })]
    [InlineData("x=\"quoted value\" y", new[] { "x=quoted value", "y" })]
    [InlineData("root=/dev/sda -- init args", new[] { "root=/dev/sda" })]
    public void CommandLine_Splits(string text, string[] expected) =>
        Assert.Equal(expected, KernelCommandLineParser.Parse(text).Select(p => p.ToString()));

    [Fact]
    public void Taint_LettersRoundTrip()
    {
        var t = KernelTaint.FromLetters("G        W  O      ");
        Assert.Equal((1UL << 9) | (1UL << 12), t.Value);
        Assert.Equal("WO", t.Letters);
        Assert.Empty(KernelTaint.FromValue(0).Flags);
    }
}
