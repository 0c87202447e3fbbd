using Process = System.Diagnostics.Process;
using ProcessStartInfo = System.Diagnostics.ProcessStartInfo;
using KernelDebug.Core;
using KernelDebug.Core.Bpf;
using KernelDebug.Core.Bpf.Tools;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Symbols;
using Xunit;

namespace KernelDebug.Core.Tests.Bpf;

/// <summary>Oracle tests: a busy-loop shell process must dominate the samples taken of it and of the machine.</summary>
[Collection(LiveBpf.Name)]
public class KernelCpuProfileLiveTests
{
    internal static Process BusyLoop()
    {
        var psi = new ProcessStartInfo("sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("while :; do :; done");
        return Process.Start(psi)!;
    }

    private static IReadOnlyList<KernelCpuSample> Profile(KernelCpuProfileOptions options, TimeSpan duration)
    {
        var profiler = KernelCpuProfiler.Start(KernelRoot.Live, options);
        var ids = profiler.Session.ProgramIds;
        try
        {
            Thread.Sleep(duration);
            return profiler.Finish();
        }
        finally
        {
            profiler.Dispose();
            SyscallLatencyLiveTests.AssertNoProgramLeft(ids);
        }
    }

    [Fact]
    public void BusyLoop_ProcessId_OnlyItsSamples_AboutFrequencyTimesDuration()
    {
        using var busy = BusyLoop();
        try
        {
            var samples = Profile(new KernelCpuProfileOptions { ProcessIds = [busy.Id], Frequency = 99 }, TimeSpan.FromSeconds(2));
            Assert.NotEmpty(samples);
            Assert.All(samples, s => Assert.Equal(busy.Id, s.ProcessId));
            long total = samples.Sum(s => s.Count);
            // One busy thread on a shared 2-CPU machine: at most one CPU's worth (99 Hz x 2 s), and clearly sampled.
            Assert.InRange(total, 40, 99 * 2 + 20);
            Assert.All(samples, s => Assert.Equal("sh", s.Command));
            Assert.Contains(samples, s => s.Frames.Skip(s.KernelFrameCount).Any(f => f.Context == "user"));
        }
        finally
        {
            busy.Kill();
            busy.WaitForExit();
        }
    }

    [Fact]
    public void BusyLoop_DominatesWholeMachineProfile()
    {
        using var busy = BusyLoop();
        try
        {
            var samples = Profile(new KernelCpuProfileOptions(), TimeSpan.FromSeconds(2));
            var byPid = samples.GroupBy(s => s.ProcessId).Select(g => (Pid: g.Key, N: g.Sum(s => s.Count))).OrderByDescending(x => x.N).ToList();
            Assert.Contains(busy.Id, byPid.Take(3).Select(x => x.Pid));
            Assert.True(byPid.Single(x => x.Pid == busy.Id).N >= 40);
            Assert.DoesNotContain(samples, s => s.ProcessId == 0);   // idle left out by default
        }
        finally
        {
            busy.Kill();
            busy.WaitForExit();
        }
    }

    [Fact]
    public void KernelOnly_HasNoUserFrames_AndSymbolizedKernelFrames()
    {
        var samples = Profile(new KernelCpuProfileOptions { KernelOnly = true, IncludeIdle = true, Frequency = 199 }, TimeSpan.FromSeconds(1));
        Assert.NotEmpty(samples);
        Assert.All(samples, s => Assert.Equal(s.Frames.Count, s.KernelFrameCount));
        Assert.Contains(samples, s => s.Frames.Any(f => f.Reliable && !f.Function.StartsWith("0x")));
    }

    [Fact]
    public void Summarize_SelfAndTotal()
    {
        StackFrame F(string n) => new() { Function = n };
        var samples = new[]
        {
            new KernelCpuSample { Frames = [F("a"), F("b"), F("main")], Count = 3 },
            new KernelCpuSample { Frames = [F("b"), F("main")], Count = 1 },
            new KernelCpuSample { Frames = [F("a"), F("a"), F("main")], Count = 1 },   // recursion counts once in Total
        };
        var top = KernelCpuFunction.Summarize(samples);
        var a = top.Single(f => f.Function == "a");
        Assert.Equal(4, a.Self);
        Assert.Equal(4, a.Total);
        Assert.Equal(80, a.SelfPercent);
        Assert.Equal(5, top.Single(f => f.Function == "main").Total);
        Assert.Equal(0, top.Single(f => f.Function == "main").Self);
        Assert.Equal("a", top[0].Function);
    }

    [Fact]
    public void UserFrame_FromMaps()
    {
        var maps = KernelCpuProfiler.ParseMaps(
            "5581f0a00000-5581f0a20000 r-xp 00004000 fe:01 1234 /usr/bin/dash\n" +
            "garbage line\n" +
            "7f0000000000-7f0000100000 r-xp 00028000 fe:01 99 /usr/lib/x86_64-linux-gnu/libc.so.6\n");
        Assert.Equal(2, maps.Count);
        var f = KernelCpuProfiler.UserFrame(0x5581f0a00010, maps);
        Assert.Equal("dash+0x4010", f.Function);
        Assert.Equal("dash", f.Module);
        Assert.Equal("0x1234", KernelCpuProfiler.UserFrame(0x1234, maps).Function);
    }

    [Fact]
    public void ElfSymbols_Libc_MatchNm()
    {
        string libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
        if (!File.Exists(libc) || !File.Exists("/usr/bin/nm")) Assert.Skip("needs libc.so.6 and nm (binutils) as the oracle");
        var psi = new ProcessStartInfo("/usr/bin/nm", ["-D", "-S", "--defined-only", libc]) { RedirectStandardOutput = true, UseShellExecute = false };
        using var nm = Process.Start(psi)!;
        string text = nm.StandardOutput.ReadToEnd();
        nm.WaitForExit();
        // "00000000000d54f0 0000000000000008 W getppid@@GLIBC_2.2.5"
        var line = text.Split('\n').First(l => l.Split(' ') is [_, _, "T" or "W", var n] && n.Split('@')[0] == "getppid");
        ulong size = Convert.ToUInt64(line.Split(' ')[1], 16);
        var table = ElfSymbolTable.Parse(File.ReadAllBytes(libc));
        Assert.True(table.Count > 500);
        var getppid = table.Functions.First(f => f.Name == "getppid");
        Assert.Equal(size, getppid.Size);
        Assert.Equal(("getppid", 3UL), table.Resolve(getppid.FileOffset + 3));
        // a frame through a maps entry of libc at its file offset
        var maps = new List<KernelCpuProfiler.MapsEntry> { new(0x7f0000000000, 0x7f0000400000, 0, libc) };
        var frame = KernelCpuProfiler.UserFrame(0x7f0000000000 + getppid.FileOffset + 3, maps, ElfSymbolTable.ForFile);
        Assert.Equal("getppid", frame.Function);
        Assert.Equal(3, frame.Offset);
        Assert.Equal("libc.so.6", frame.Module);
    }

    [Fact]
    public void ElfSymbols_Garbage_IsEmpty()
    {
        Assert.Equal(0, ElfSymbolTable.Parse(new byte[100]).Count);
        var rnd = new Random(5);
        var junk = new byte[4096];
        rnd.NextBytes(junk);
        "\u007fELF"u8.ToArray().CopyTo(junk, 0);
        junk[4] = 2; junk[5] = 1;
        var t = ElfSymbolTable.Parse(junk);   // must not throw
        Assert.True(t.Count >= 0);
        Assert.Equal(0, ElfSymbolTable.ForFile("/nonexistent/file").Count);
    }

    [Fact]
    public void OfflineCpu_IsInvalidArgument()
    {
        var e = Assert.Throws<KernelDebugException>(() => KernelCpuProfiler.Start(KernelRoot.Live, new KernelCpuProfileOptions { Cpus = [4096] }));
        Assert.Equal("CpuNotOnline", e.ErrorId);
    }
}
