using System.Runtime.InteropServices;
using KernelDebug.Core;
using KernelDebug.Core.Bpf;
using KernelDebug.Core.Bpf.Tools;
using KernelDebug.Core.Symbols;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests.Bpf;

/// <summary>
/// Oracle tests: threads of this process writing to one pipe contend on the pipe's mutex (pipe_write takes
/// pipe->mutex); the meter, filtered on this process, must see mutex waits at pipe_write.
/// </summary>
[Collection(LiveBpf.Name)]
public partial class LockContentionLiveTests
{
    private static IReadOnlyList<LockContention> Measure(LockContentionOptions options, Action load) =>
        LiveBpf.Measure(LockContentionMeter.Start(KernelRoot.Live, options), load);

    private static string Dump(IEnumerable<LockContention> records) =>
        string.Join("\n", records.Take(15).Select(r => $"{r.LockType} {r.LockSymbol ?? r.LockAddress?.ToString("x")} {r.Caller} n={r.Count} total={r.TotalWait} stack={string.Join(" < ", r.Stack.Take(8).Select(f => f.Function))}"));

    [Fact]
    public void PipeWriters_ByCaller_ShowMutexWaitsInPipeWrite()
    {
        var records = Measure(new LockContentionOptions { ProcessIds = [Environment.ProcessId], ByCaller = true },
            () => Pipes.Contend(TimeSpan.FromSeconds(1.5)));
        Assert.True(records.Any(r => r.LockType == "mutex" && r.Stack.Any(f => f.Function.Contains("pipe_write", StringComparison.Ordinal))), Dump(records));
        var pipe = records.First(r => r.LockType == "mutex" && r.Stack.Any(f => f.Function.Contains("pipe_write", StringComparison.Ordinal)));
        Assert.True(pipe.Count > 0 && pipe.TotalWait > TimeSpan.Zero && pipe.MaxWait >= pipe.P50);
        Assert.NotNull(pipe.Caller);
        Assert.DoesNotContain("mutex_lock", pipe.Caller!);
        Assert.Null(pipe.LockAddress);
        Assert.Contains("mutex_lock", pipe.Stack[0].Function);   // tracing frames trimmed: the stack starts in the lock code
    }

    [Fact]
    public void PipeWriters_ByLock_OneHotMutex()
    {
        var records = Measure(new LockContentionOptions { ProcessIds = [Environment.ProcessId] }, () => Pipes.Contend(TimeSpan.FromSeconds(1)));
        var top = records.Where(r => r.LockType == "mutex").MaxBy(r => r.Count);
        Assert.True(top is not null, Dump(records));
        Assert.NotNull(top!.LockAddress);
        Assert.Null(top.LockSymbol);   // pipe->mutex lives in allocated memory, not in a kernel symbol
        Assert.Empty(top.Stack);
        Assert.True(top.Count >= 10, Dump(records));
    }

    [Fact]
    public void MinimumWait_FiltersShortWaits()
    {
        var records = Measure(new LockContentionOptions { ProcessIds = [Environment.ProcessId], MinimumWait = TimeSpan.FromSeconds(30) },
            () => Pipes.Contend(TimeSpan.FromSeconds(0.5)));
        Assert.Empty(records);
    }

    [Fact]
    public void OtherProcessFilter_SeesNothingOfOurs()
    {
        // pid 1 (init) does not write to our pipe: none of our waits may be counted.
        var records = Measure(new LockContentionOptions { ProcessIds = [1], ByCaller = true }, () => Pipes.Contend(TimeSpan.FromSeconds(0.5)));
        Assert.DoesNotContain(records, r => r.Stack.Any(f => f.Function.Contains("pipe_write", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData(LockContentionFlags.Spin, "spinlock")]
    [InlineData(LockContentionFlags.Spin | LockContentionFlags.Read, "rwlock:read")]
    [InlineData(LockContentionFlags.Write, "rwsem:write")]
    [InlineData(LockContentionFlags.Read, "rwsem:read")]
    [InlineData(LockContentionFlags.Mutex | LockContentionFlags.Spin, "mutex")]
    [InlineData(LockContentionFlags.Mutex, "mutex")]
    [InlineData(LockContentionFlags.Rt, "rt-mutex")]
    [InlineData(LockContentionFlags.PerCpu | LockContentionFlags.Read, "percpu-rwsem:read")]
    [InlineData(LockContentionFlags.None, "unknown")]
    public void Kind_DecodesLockH(LockContentionFlags flags, string kind) => Assert.Equal(kind, LockContention.Kind(flags));

    [Fact]
    public void Symbolize_StackValue_StopsAtZero_AndSkipsLockingFramesForCaller()
    {
        var table = KernelSymbolTable.FromSymbols([
            new KernelSymbol { Name = "__mutex_lock", Address = 0xffffffff81000000, Type = 't' },
            new KernelSymbol { Name = "mutex_lock", Address = 0xffffffff81000100, Type = 'T' },
            new KernelSymbol { Name = "pipe_write", Address = 0xffffffff81000200, Type = 't' },
            new KernelSymbol { Name = "vfs_write", Address = 0xffffffff81000400, Type = 'T' },
            new KernelSymbol { Name = "_etext", Address = 0xffffffff81000500, Type = 'T' },
        ]);
        var value = new byte[LockContentionMeter.StackDepth * 8];
        ulong[] ips = [0xffffffff81000010, 0xffffffff81000110, 0xffffffff81000234, 0xffffffff81000410];
        for (int i = 0; i < ips.Length; i++) BitConverter.TryWriteBytes(value.AsSpan(i * 8), ips[i]);
        var frames = LockContentionMeter.Symbolize(value, table);
        Assert.Equal(["__mutex_lock", "mutex_lock", "pipe_write", "vfs_write"], frames.Select(f => f.Function));
        Assert.Equal(0x34, frames[2].Offset);
        Assert.StartsWith("pipe_write+0x34", LockContentionMeter.CallerOf(frames));
        var trimmed = LockContentionMeter.TrimTracing([new StackFrame { Function = "0xffffffffc0001234" }, new StackFrame { Function = "bpf_trace_run2" }, .. frames]);
        Assert.Equal(frames, trimmed);
        Assert.Equal(frames, LockContentionMeter.TrimTracing(frames));
        Assert.Equal("0xdead", LockContentionMeter.Symbolize(BitConverter.GetBytes(0xdeadUL), null).Single().Function);
    }
}
