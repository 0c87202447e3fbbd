using System.Diagnostics;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Tracing;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests.Tracing;

/// <summary>Live tests on this kernel's tracefs. Each one checks the top instance is byte-identical afterwards
/// and that its own instances are gone.</summary>
[Collection("ftrace-live")]
public sealed class FtraceLiveTests : IDisposable
{
    private readonly TraceFs _fs = TraceFs.Locate(KernelRoot.Live);
    private readonly TraceFsState _before;
    private readonly List<string> _made = new();

    public FtraceLiveTests() => _before = TraceFsState.Capture(_fs.Path);

    public void Dispose()
    {
        var after = TraceFsState.Capture(_fs.Path);
        Assert.Empty(_before.Differences(after));
        Assert.Contains("current_tracer", _before.Compared);
        foreach (var n in _made) Assert.False(Directory.Exists(_fs.Resolve("instances/" + n)), $"instance {n} was left behind");
    }

    private FtraceSession Start(FtraceCaptureOptions o)
    {
        var s = FtraceSession.Create(_fs, o, new ParseContext("test"));
        _made.Add(s.Name);
        return s;
    }

    private static List<FtraceEvent> Drain(FtraceReader r)
    {
        var list = new List<FtraceEvent>();
        while (r.ReadAvailable(list) > 0) { }
        return list;
    }

    /// <summary>Runs /usr/bin/true (so its pid, its exec and its exit_group are known) and waits for it.</summary>
    private static int RunTrue()
    {
        using var p = Process.Start(new ProcessStartInfo("/usr/bin/true") { UseShellExecute = false })!;
        p.WaitForExit();
        return p.Id;
    }

    [Fact]
    public void ChildProcess_ShowsUpWithItsPidSyscallsAndExec()
    {
        int pid;
        List<FtraceEvent> events;
        using (var s = Start(new FtraceCaptureOptions { Events = ["raw_syscalls:sys_enter", "sched:sched_process_exec"], BufferSize = 512 * 1024 }))
        {
            Assert.StartsWith("kerneldebug-" + Environment.ProcessId + "-", s.Name);
            var cap = s.Describe();
            Assert.Equal(FtraceCaptureState.Running, cap.State);
            Assert.Equal(Environment.ProcessId, cap.OwnerProcessId);
            Assert.InRange(cap.BufferSize, 512 * 1024, 520 * 1024); // the kernel rounds up to whole sub-buffers
            Assert.Equal(new[] { "raw_syscalls:sys_enter", "sched:sched_process_exec" }, cap.Events.Order());
            Assert.Equal("mono", s.Clock);
            using var r = s.OpenReader(new ParseContext("live"));
            pid = RunTrue();
            s.Stop();
            events = Drain(r);
        }
        var exec = Assert.Single(events, e => e.Event == "sched_process_exec" && e.ProcessId == pid);
        Assert.Equal("/usr/bin/true", exec.Fields["filename"]);
        Assert.Equal(pid, exec.Fields["pid"]);
        Assert.InRange(exec.Time!.Value, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow);
        var mine = events.Where(e => e.Event == "sys_enter" && e.ProcessId == pid).ToList();
        Assert.Contains(mine, e => (long)e.Fields["id"]! == 59);   // execve, before the exec event
        Assert.Contains(mine, e => (long)e.Fields["id"]! == 231);  // exit_group
        Assert.Equal(6, ((ulong[])mine[0].Fields["args"]!).Length);
        Assert.True(mine.First(e => (long)e.Fields["id"]! == 231).TimestampNanoseconds > exec.TimestampNanoseconds);
    }

    [Fact]
    public void Filter_Filters()
    {
        int pid;
        List<FtraceEvent> events;
        using (var s = Start(new FtraceCaptureOptions { Events = ["raw_syscalls:sys_enter"], Filter = "id == 231" }))
        {
            using var r = s.OpenReader(new ParseContext("live"));
            pid = RunTrue();
            s.Stop();
            events = Drain(r);
        }
        Assert.Contains(events, e => e.ProcessId == pid);
        Assert.All(events, e => Assert.Equal(231L, e.Fields["id"]));
    }

    [Fact]
    public void BadFilter_ShowsTheKernelsMessage_AndLeavesNothing()
    {
        var e = Assert.Throws<KernelDebugException>(() => Start(new FtraceCaptureOptions { Events = ["raw_syscalls:sys_enter"], Filter = "no_such_field == 3" }));
        Assert.Equal("FtraceFilterRejected", e.ErrorId);
        Assert.Contains("Field not found", e.Message);
        Assert.Contains("no_such_field", e.Message);
        Assert.Empty(TraceFsState.InstancesOf(Environment.ProcessId, _fs.Path));
    }

    [Fact]
    public void UnknownEvent_FailsBeforeCreatingAnything()
    {
        var e = Assert.Throws<KernelDebugException>(() => Start(new FtraceCaptureOptions { Events = ["nosuchsystem:*"] }));
        Assert.Equal("TracepointNotFound", e.ErrorId);
        Assert.Empty(TraceFsState.InstancesOf(Environment.ProcessId, _fs.Path));
    }

    [Fact]
    public void PidRestriction_Restricts()
    {
        // A shell that waits on stdin, so its pid is known before it does the syscalls we look for.
        using var child = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", "read x; exec /usr/bin/true"]) { RedirectStandardInput = true, UseShellExecute = false })!;
        List<FtraceEvent> events;
        using (var s = Start(new FtraceCaptureOptions { Events = ["raw_syscalls:sys_enter", "sched:sched_process_exec"], ProcessIds = [child.Id] }))
        {
            using var r = s.OpenReader(new ParseContext("live"));
            Thread.Sleep(50);           // our own process makes syscalls meanwhile: they must not appear
            child.StandardInput.WriteLine("go");
            child.StandardInput.Close();
            child.WaitForExit();
            s.Stop();
            events = Drain(r);
        }
        Assert.Contains(events, e => e.Event == "sched_process_exec" && (string?)e.Fields["filename"] == "/usr/bin/true");
        Assert.Contains(events, e => e.Event == "sys_enter" && (long)e.Fields["id"]! == 59);
        Assert.All(events, e => Assert.Equal(child.Id, e.ProcessId));
    }

    [Fact]
    public void CpuMask_And_Describe_And_Remove()
    {
        using var s = Start(new FtraceCaptureOptions { Events = ["sched:sched_switch"], Cpus = [0] });
        Assert.Equal("1", File.ReadAllText(s.PathOf("tracing_cpumask")).Trim().TrimStart('0', ','));
        // An idle CPU 0 may not switch tasks for a while: make it, with a short sleeper pinned there.
        using (var pinned = System.Diagnostics.Process.Start("taskset", "-c 0 sh -c 'for i in 1 2 3 4 5; do sleep 0.01; done'"))
            pinned.WaitForExit();
        s.Stop();
        using (var r = s.OpenReader(new ParseContext("live")))
        {
            var ev = Drain(r);
            Assert.NotEmpty(ev);
            Assert.All(ev, e => Assert.Equal(0, e.Cpu));
        }
        Assert.Contains(FtraceSession.List(_fs), c => c.Name == s.Name && c.State == FtraceCaptureState.Stopped);
        s.Remove();
        Assert.DoesNotContain(FtraceSession.List(_fs), c => c.Name == s.Name);
        Assert.False(File.Exists(Path.Combine(FtraceOwnerMarker.Directory, s.Name + ".json")));
    }

    [Fact]
    public void RepeatedStartCancel_LeavesNoInstances()
    {
        for (int i = 0; i < 10; i++)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(30 + i * 5));
            using var s = Start(new FtraceCaptureOptions { Events = ["raw_syscalls:*"] });
            using var r = s.OpenReader(new ParseContext("live"));
            Assert.ThrowsAny<OperationCanceledException>(() =>
                r.StreamAsync(_ => ValueTask.CompletedTask, null, null, true, cts.Token).GetAwaiter().GetResult());
        }
        Assert.Empty(TraceFsState.InstancesOf(Environment.ProcessId, _fs.Path));
    }

    [Fact]
    public void Stream_StopsAtCount()
    {
        using var s = Start(new FtraceCaptureOptions { Events = ["raw_syscalls:sys_enter"] });
        using var r = s.OpenReader(new ParseContext("live"));
        var got = new List<FtraceEvent>();
        var task = r.StreamAsync(e => { got.Add(e); return ValueTask.CompletedTask; }, TimeSpan.FromSeconds(20), 5, true, CancellationToken.None);
        while (!task.IsCompleted) RunTrue();
        Assert.Equal(5, task.Result);
        Assert.Equal(5, got.Count);
        Assert.Equal("0", File.ReadAllText(s.PathOf("tracing_on")).Trim());
    }

    [Fact]
    public void FunctionTracer_IsDetectedAsRefused_WithoutWritingAnything()
    {
        var why = FunctionTracing.ProbeFunctionTracer(_fs);
        bool readable = false;
        try { using var f = File.OpenRead(_fs.Resolve("available_filter_functions")); f.ReadByte(); readable = true; }
        catch (UnauthorizedAccessException) { }
        catch (IOException) { }
        if (readable) { Assert.Null(why); return; }
        Assert.NotNull(why);
        Assert.Equal("FunctionTracerRefused", why!.ErrorId);
        Assert.Contains("lockdown", why.Message);
        Assert.Empty(TraceFsState.InstancesOf(Environment.ProcessId, _fs.Path));
    }

    [Fact]
    public void RunCapture_ReturnsWhatHappenedWhileTheActionRan_AndStopsTracing()
    {
        using var s = Start(new FtraceCaptureOptions { Events = ["raw_syscalls:sys_enter", "sched:sched_process_exec"] });
        using var r = s.OpenReader(new ParseContext("live"));
        int pid = 0;
        var result = FtraceRunCapture.Run(s, r, () => pid = RunTrue());
        Assert.Equal("0", File.ReadAllText(s.PathOf("tracing_on")).Trim());
        Assert.Equal(0, result.DroppedPages);
        var exec = Assert.Single(result.Events, e => e.Event == "sched_process_exec" && e.ProcessId == pid);
        Assert.Equal("/usr/bin/true", exec.Fields["filename"]);
        Assert.Contains(result.Events, e => e.Event == "sys_enter" && e.ProcessId == pid && (long)e.Fields["id"]! == 231);
        for (int i = 1; i < result.Events.Count; i++)
            Assert.True(result.Events[i].TimestampNanoseconds >= result.Events[i - 1].TimestampNanoseconds, $"event {i} is out of time order");
    }

    [Fact]
    public void RunCapture_IsBounded_AndCountsThePagesItDropped()
    {
        using var s = Start(new FtraceCaptureOptions { Events = ["raw_syscalls:sys_enter"], BufferSize = 4 * 1024 * 1024 });
        using var r = s.OpenReader(new ParseContext("live"));
        // ~20,000 syscalls of this process fill far more than two pages.
        var result = FtraceRunCapture.Run(s, r, () => { for (int i = 0; i < 20_000; i++) File.Exists("/nonexistent/kd-bound-test"); }, maxPages: 2);
        Assert.True(result.DroppedPages > 0, "nothing was dropped although only two pages may be kept");
        Assert.True(result.DroppedBytes >= result.DroppedPages * 16);
        // Two pages of 16-byte sys_enter records (4 + 64 bytes each, in practice) hold at most a few hundred events.
        Assert.InRange(result.Events.Count, 1, 2 * 4096 / 16);
        Assert.Equal("0", File.ReadAllText(s.PathOf("tracing_on")).Trim());
    }
}
