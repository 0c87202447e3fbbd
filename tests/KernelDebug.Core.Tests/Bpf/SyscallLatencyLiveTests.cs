using System.Runtime.InteropServices;
using KernelDebug.Core;
using KernelDebug.Core.Bpf;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Symbols;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests.Bpf;

/// <summary>Oracle tests on the live kernel: this process makes a known number of known calls and checks what the meter saw.</summary>
[Collection(LiveBpf.Name)]
public partial class SyscallLatencyLiveTests
{
    [LibraryImport("libc", SetLastError = true)]
    private static partial int getppid();

    private static readonly int Self = Environment.ProcessId;
    private static int Id(string name) => SyscallTable.X86_64.Find(name)!.Id;

    /// <summary>
    /// None of the run's own programs is listed any more, checked at once: Dispose returns only when the kernel has
    /// dropped them, so no waiting here (ids of the run, so other engineers' kd_ programs cannot disturb it).
    /// </summary>
    internal static void AssertNoProgramLeft(IReadOnlyCollection<uint> ids)
    {
        Assert.NotEmpty(ids);
        Assert.Empty(BpfProgramInfo.ReadAll(resolveOwners: false).Where(p => ids.Contains(p.Id)).Select(p => $"{p.Id} {p.Name}"));
        Assert.Empty(BpfProgramInfo.ReadAll(n => n.StartsWith("kd_", StringComparison.Ordinal), resolveOwners: false).Where(p => ids.Contains(p.Id)));
    }

    private static (IReadOnlyList<SyscallLatency> Records, IReadOnlyList<uint> Ids, SyscallLatencyMeter Meter) Measure(SyscallLatencyOptions options, Action load)
    {
        var meter = SyscallLatencyMeter.Start(KernelRoot.Live, options);
        var ids = meter.Session.ProgramIds;
        try
        {
            Assert.All(BpfProgramInfo.ReadAll(n => n.StartsWith("kd_sl_"), resolveOwners: false).Where(p => ids.Contains(p.Id)), p => Assert.StartsWith("kd_", p.Name));
            var t = new Thread(() => load());
            t.Start();
            t.Join();
            return (meter.Finish(), ids, meter);
        }
        finally
        {
            meter.Dispose();
            AssertNoProgramLeft(ids);
        }
    }

    [Fact]
    public void Getppid_ExactCount_ForThisProcess()
    {
        const int n = 20_000;
        var (records, _, meter) = Measure(new SyscallLatencyOptions { ProcessIds = [Self] }, () => { for (int i = 0; i < n; i++) getppid(); });
        var r = Assert.Single(records, r => r.Syscall == "getppid");
        Assert.InRange(r.Count, (ulong)n, (ulong)n + 20);
        Assert.Equal(Id("getppid"), r.SyscallId);
        Assert.True(r.Min <= r.P50 && r.P50 <= r.P99 && r.P99 <= r.Max, r.ToString());
        Assert.Equal(r.Count, r.Histogram.Count);
        Assert.Equal(meter.AttachMethod, r.AttachMethod);
        // raw_tp where the kernel has it (see SyscallLatencyMeter.Preference), else the engine's best
        var available = BpfPreconditions.AvailableAttachMethods(KernelRoot.Live);
        Assert.Equal(available.Contains(BpfAttachMethod.RawTp) ? BpfAttachMethod.RawTp : available[0], r.AttachMethod);
    }

    [Fact]
    public void Nanosleep10ms_MedianBetween10And13ms()
    {
        // A single-threaded child: this process's runtime threads make short sleeps of their own, which lowered the
        // histogram's minimum and with it the median interpolated inside its bucket.
        using var sleeper = NativeSleeper.Start(30, TimeSpan.FromMilliseconds(10));
        var (records, _, _) = Measure(new SyscallLatencyOptions { ProcessIds = [sleeper.Id], SyscallIds = [Id("nanosleep"), Id("clock_nanosleep")] },
            () => NativeSleeper.Go(sleeper));
        var r = Assert.Single(records);
        Assert.Contains(r.Syscall, new[] { "nanosleep", "clock_nanosleep" });
        Assert.Equal(30UL, r.Count);
        // Nothing signals the child, so every call lasts at least the 10 ms asked for.
        Assert.Equal(0UL, r.Errors);
        Assert.InRange(r.P50.TotalMilliseconds, 10.0, 13.0);
        Assert.True(r.Min.TotalMilliseconds >= 10.0, r.Min.ToString());
    }

    [Fact]
    public void OpenMissingFile_CountsAsEnoent()
    {
        // In a child that does nothing else: this process's other threads open missing files of their own (89 of 50
        // once, under the parallel suite).
        const int n = 50;
        using var opener = NativeSleeper.StartOpener(n);
        var (records, _, _) = Measure(new SyscallLatencyOptions { ProcessIds = [opener.Id], FailedOnly = true }, () => NativeSleeper.Go(opener));
        var r = Assert.Single(records);
        Assert.Contains(r.Syscall, new[] { "open", "openat" });
        Assert.Equal((ulong)n, r.Errors);
        Assert.Equal(r.Count, r.Errors);
        Assert.True(r.ErrorsByErrno.TryGetValue("ENOENT", out var enoent), string.Join(",", r.ErrorsByErrno.Keys));
        Assert.Equal((ulong)n, enoent);
    }

    [Fact]
    public void ProcessIdFilter_ExcludesOtherProcesses()
    {
        using var other = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("sh", ["-c", "for i in $(seq 1 300); do cat /proc/self/stat >/dev/null; done"]) { UseShellExecute = false })!;
        var (records, _, _) = Measure(new SyscallLatencyOptions { ProcessIds = [Self], ByProcess = true }, () =>
        {
            for (int i = 0; i < 1000; i++) getppid();
            other.WaitForExit();
        });
        Assert.NotEmpty(records);
        Assert.All(records, r => Assert.Equal(Self, r.ProcessId));
        Assert.Contains(records, r => r.Syscall == "getppid" && r.Count >= 1000);
    }

    [Fact]
    public void ByProcess_WithoutPidFilter_SeesTheChild()
    {
        using var child = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("sh", ["-c", "sleep 0.3; for i in 1 2 3 4 5; do cat /proc/self/stat >/dev/null; done"]) { UseShellExecute = false })!;
        var (records, _, _) = Measure(new SyscallLatencyOptions { ByProcess = true, CommandFilter = c => c == "cat" }, () => child.WaitForExit());
        Assert.NotEmpty(records);
        Assert.All(records, r => Assert.Equal("cat", r.Command));
        Assert.True(records.Select(r => r.ProcessId).Distinct().Count() >= 5, string.Join(",", records.Select(r => r.ProcessId).Distinct()));
    }

    [Fact]
    public void Intervals_LoseNoCalls()
    {
        const int perInterval = 5000, intervals = 5;
        using var meter = SyscallLatencyMeter.Start(KernelRoot.Live, new SyscallLatencyOptions { ProcessIds = [Self], SyscallIds = [Id("getppid")] });
        var ids = meter.Session.ProgramIds;
        ulong total = 0;
        using var stop = new CancellationTokenSource();
        long made = 0;
        var worker = new Thread(() => { while (!stop.IsCancellationRequested) { getppid(); Interlocked.Increment(ref made); } });
        worker.Start();
        for (int i = 0; i < intervals; i++)
        {
            while (Interlocked.Read(ref made) < (i + 1) * perInterval) Thread.Sleep(1);
            total += meter.CollectInterval().Aggregate(0UL, (s, r) => s + r.Count);
        }
        stop.Cancel();
        worker.Join();
        total += meter.Finish().Aggregate(0UL, (s, r) => s + r.Count);
        meter.Dispose();
        Assert.Equal((ulong)made, total);
        AssertNoProgramLeft(ids);
    }

    [Fact]
    public void Overhead_IsMeasuredByBpfStats()
    {
        var (records, _, _) = Measure(new SyscallLatencyOptions { ProcessIds = [Self] }, () => { for (int i = 0; i < 2000; i++) getppid(); });
        var r = Assert.Single(records, r => r.Syscall == "getppid");
        Assert.NotNull(r.OverheadPerEvent);
        Assert.InRange(r.OverheadPerEvent!.Value, 1.0, 100_000.0);
        Assert.True(r.ProgramRunTime > TimeSpan.Zero);
    }

    [Fact]
    public void TooManyProcessIds_IsInvalidArgument()
    {
        var e = Assert.Throws<KernelDebugException>(() => SyscallLatencyMeter.Start(KernelRoot.Live, new SyscallLatencyOptions { ProcessIds = Enumerable.Range(1, 17).ToArray() }));
        Assert.Equal("TooManyProcessIds", e.ErrorId);
        Assert.Equal(KernelErrorCategory.InvalidArgument, e.Category);
    }

    [Theory]
    [InlineData(BpfAttachMethod.TpBtf)]
    [InlineData(BpfAttachMethod.Tracepoint)]
    public void FallbackAttachMethods_Work(BpfAttachMethod method)
    {
        var (records, _, meter) = Measure(new SyscallLatencyOptions { ProcessIds = [Self], AttachMethods = [method] }, () => { for (int i = 0; i < 1000; i++) getppid(); });
        Assert.Equal(method, meter.AttachMethod);
        var r = Assert.Single(records, r => r.Syscall == "getppid");
        Assert.InRange(r.Count, 1000UL, 1020UL);
    }
}
