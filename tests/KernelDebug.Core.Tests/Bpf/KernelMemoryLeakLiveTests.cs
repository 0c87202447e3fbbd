using System.Runtime.InteropServices;
using KernelDebug.Core;
using KernelDebug.Core.Bpf.Tools;
using KernelDebug.Core.Errors;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests.Bpf;

/// <summary>
/// Oracle tests: this process opens thousands of pipes and keeps them open; their kernel allocations (alloc_pipe_info)
/// must show as outstanding, and disappear once the pipes are closed.
/// </summary>
[Collection(LiveBpf.Name)]
public partial class KernelMemoryLeakLiveTests
{
    private static ulong PipeCount(IEnumerable<KernelMemoryLeak> records) =>
        records.Where(r => r.Site.StartsWith("alloc_pipe_info", StringComparison.Ordinal)).Aggregate(0UL, (s, r) => s + r.Count);

    private static ulong FreeProgramMisses(KernelMemoryLeakTracer tracer) =>
        tracer.Session.LoadedPrograms().Where(p => p.Name.EndsWith("free", StringComparison.Ordinal)).Aggregate(0UL, (s, p) => s + p.Info.RecursionMisses);

    [Fact]
    public void OpenPipes_AreOutstandingAtAllocPipeInfo_UntilClosed()
    {
        const int n = 2000;
        var tracer = KernelMemoryLeakTracer.Start(KernelRoot.Live, new KernelMemoryLeakOptions { ProcessIds = [Environment.ProcessId] });
        var ids = tracer.Session.ProgramIds;
        var fds = new List<int>();
        System.Diagnostics.Process? child = null;
        try
        {
            fds = Pipes.Open(n);
            // A child started while the pipes are open, as other tests of the parallel suite start children: a pipe
            // it inherited would stay allocated after our close (1170 of 4000 did, before pipes were O_CLOEXEC).
            child = System.Diagnostics.Process.Start("sleep", "30");
            var open = tracer.Report();
            // alloc_pipe_info makes two kmallocs per pipe: the pipe_inode_info and its buffer array.
            Assert.True(PipeCount(open) >= 2 * n, string.Join("\n", open.Take(10).Select(r => $"{r.Site} {r.Count} {r.Bytes}")));
            var site = open.First(r => r.Site.StartsWith("alloc_pipe_info", StringComparison.Ordinal));
            Assert.Equal(KernelAllocator.Kmalloc, site.Allocator);
            Assert.Equal(Environment.ProcessId, site.ProcessId);
            Assert.True(site.Bytes >= (long)site.Count * 8);
            Assert.NotEmpty(site.Stack);
            Assert.Contains(site.Stack, f => f.Function.Contains("pipe", StringComparison.Ordinal));
            Assert.Equal(0UL, site.LostStacks);
            Assert.Equal(0UL, site.Overflows);
            Assert.True(site.Tracked >= 2 * n);

            Pipes.Close(fds);
            // free_pipe_info kfrees both in the close itself; the wait only absorbs a report racing with the last closes.
            for (int i = 0; i < 30 && PipeCount(tracer.Report()) >= 50; i++) Thread.Sleep(100);
            ulong missedBefore = FreeProgramMisses(tracer);
            var closed = tracer.Finish();
            Assert.True(PipeCount(closed) < 50, $"still outstanding after close: {PipeCount(closed)}");
            // MissedFrees is the kernel's count for the free programs (it only grows), read during Finish.
            Assert.All(closed, r => Assert.InRange(r.MissedFrees, missedBefore, FreeProgramMisses(tracer)));
        }
        finally
        {
            Pipes.Close(fds);
            child?.Kill();
            child?.Dispose();
            tracer.Dispose();
            SyscallLatencyLiveTests.AssertNoProgramLeft(ids);
        }
    }

    /// <summary>
    /// A stack table of one entry holds one stack: every other distinct allocating stack is lost, and the report
    /// counts them (per group and in total) instead of showing a silently empty stack.
    /// </summary>
    [Fact]
    public void TinyStackTable_LostStacksAreCounted()
    {
        var tracer = KernelMemoryLeakTracer.Start(KernelRoot.Live, new KernelMemoryLeakOptions { ProcessIds = [Environment.ProcessId], MaxStacks = 1 });
        var ids = tracer.Session.ProgramIds;
        var fds = new List<int>();
        try
        {
            fds = Pipes.Open(200);
            var report = tracer.Report();
            Assert.True(PipeCount(report) >= 400);
            // alloc_pipe_info's two kmallocs come from two stacks: at most one of them fits.
            var withoutStack = report.Where(r => r.Stack.Count == 0).ToList();
            Assert.NotEmpty(withoutStack);
            Assert.All(withoutStack, r => Assert.Equal(r.Count, r.LostStacks));
            Assert.All(report.Where(r => r.Stack.Count > 0), r => Assert.True(r.LostStacks < r.Count));
            ulong lost = report.Aggregate(0UL, (n, r) => n + r.LostStacks);
            Assert.True(report[0].LostStacksTotal >= lost, $"total {report[0].LostStacksTotal} < outstanding {lost}");
            Assert.True(lost >= 200, $"only {lost} lost");
        }
        finally
        {
            Pipes.Close(fds);
            tracer.Dispose();
            SyscallLatencyLiveTests.AssertNoProgramLeft(ids);
        }
    }

    [Fact]
    public void MinimumAge_HidesYoungAllocations()
    {
        var tracer = KernelMemoryLeakTracer.Start(KernelRoot.Live, new KernelMemoryLeakOptions { ProcessIds = [Environment.ProcessId], MinimumAge = TimeSpan.FromMinutes(5) });
        var fds = new List<int>();
        try
        {
            fds = Pipes.Open(200);
            Assert.Equal(0UL, PipeCount(tracer.Report()));
        }
        finally
        {
            Pipes.Close(fds);
            tracer.Dispose();
        }
    }

    [Fact]
    public void MaxTracked_BoundsTheTable_AndReportsOverflow()
    {
        var tracer = KernelMemoryLeakTracer.Start(KernelRoot.Live, new KernelMemoryLeakOptions { ProcessIds = [Environment.ProcessId], MaxTracked = 100 });
        var fds = new List<int>();
        try
        {
            fds = Pipes.Open(500);
            var r = tracer.Report();
            Assert.NotEmpty(r);
            Assert.All(r, x => Assert.InRange(x.Tracked, 1UL, 100UL));
            Assert.True(r[0].Overflows >= 500, $"overflows {r[0].Overflows}");
            Assert.True(r.Aggregate(0UL, (s, x) => s + x.Count) <= 100);
        }
        finally
        {
            Pipes.Close(fds);
            tracer.Dispose();
        }
    }

    [Fact]
    public void GroupByStack_SplitsBySampleStack()
    {
        var tracer = KernelMemoryLeakTracer.Start(KernelRoot.Live, new KernelMemoryLeakOptions { ProcessIds = [Environment.ProcessId], GroupBy = KernelMemoryLeakGrouping.Stack });
        var fds = new List<int>();
        try
        {
            fds = Pipes.Open(300);
            var r = tracer.Report();
            Assert.True(PipeCount(r) >= 600);
            Assert.All(r, x => Assert.NotEmpty(x.Stack));
        }
        finally
        {
            Pipes.Close(fds);
            tracer.Dispose();
        }
    }

    [Fact]
    public void NoAllocator_IsInvalidArgument()
    {
        var e = Assert.Throws<KernelDebugException>(() => KernelMemoryLeakTracer.Start(KernelRoot.Live, new KernelMemoryLeakOptions { Allocators = KernelAllocator.None }));
        Assert.Equal("NoAllocatorSelected", e.ErrorId);
    }
}
