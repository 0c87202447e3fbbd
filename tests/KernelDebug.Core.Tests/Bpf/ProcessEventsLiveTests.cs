using System.Diagnostics;
using System.Runtime.InteropServices;
using KernelDebug.Core;
using KernelDebug.Core.Bpf;
using KernelDebug.Core.Bpf.Engine;
using KernelDebug.Core.Bpf.Tools;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Sampling;
using Xunit;

namespace KernelDebug.Core.Tests.Bpf;

/// <summary>
/// Trace-ProcessExec, Trace-ProcessExit and Trace-Signal against processes the test starts: /bin/true and /bin/false
/// children (parent = this process), and a kill(SIGUSR1) this process sends to a sleeping child.
/// </summary>
[Collection(LiveBpf.Name)]
public partial class ProcessEventsLiveTests
{
    [LibraryImport("libc", SetLastError = true)] private static partial int kill(int pid, int sig);

    private static readonly int Self = Environment.ProcessId;

    /// <summary>This process's v1 memory cgroup, when it is in one below the root (exercises the kernel cgroup filter).</summary>
    private static string? OwnCgroup()
    {
        foreach (var line in File.ReadAllLines("/proc/self/cgroup"))
        {
            var parts = line.Split(':', 3);
            if (parts.Length == 3 && parts[1] == "memory" && parts[2] != "/" && Directory.Exists("/sys/fs/cgroup/memory" + parts[2]))
                return "/sys/fs/cgroup/memory" + parts[2];
        }
        return null;
    }

    private static void RunTrueFalse(int n)
    {
        for (int i = 0; i < n; i++)
        {
            using var p = Process.Start(new ProcessStartInfo(i % 2 == 0 ? "/bin/true" : "/bin/false", ["kd-oracle", $"run{i}"]))!;
            p.WaitForExit();
            Assert.Equal(i % 2, p.ExitCode);
        }
    }

    /// <summary>Polls <paramref name="stream"/> until <paramref name="done"/> holds or 5 s pass, then finishes it.</summary>
    private static List<T> Collect<T>(IBpfEventStream<T> stream, Func<List<T>, bool> done)
    {
        var all = new List<T>();
        var sw = Stopwatch.StartNew();
        while (!done(all) && sw.Elapsed < TimeSpan.FromSeconds(5)) all.AddRange(stream.Poll(TimeSpan.FromMilliseconds(50)));
        all.AddRange(stream.Finish());
        return all;
    }

    [Fact]
    public void Exec_TwentyRunsOfTrueAndFalse_AllSeenWithArguments()
    {
        var filter = new BpfTaskFilter { Cgroup = OwnCgroup() };
        var t = ProcessExecTracer.Start(KernelRoot.Live, new ProcessExecOptions { Filter = filter, ProgramStatistics = false });
        var ids = t.Session.ProgramIds;
        List<ProcessExec> mine;
        using (t)
        {
            RunTrueFalse(20);
            var all = Collect(t, l => l.Count(e => e.ParentProcessId == Self && e.Arguments.ElementAtOrDefault(1) == "kd-oracle") >= 20);
            mine = all.Where(e => e.ParentProcessId == Self && e.Arguments.ElementAtOrDefault(1) == "kd-oracle").ToList();
            Assert.Equal(0UL, t.LostEvents);
        }
        Assert.Equal(20, mine.Count);
        for (int i = 0; i < 20; i++)
        {
            var e = mine[i];
            string file = i % 2 == 0 ? "/bin/true" : "/bin/false";
            Assert.Equal(file, e.FileName);
            Assert.Equal(i % 2 == 0 ? "true" : "false", e.Command);
            Assert.Equal([file, "kd-oracle", $"run{i}"], e.Arguments);   // .NET passes the file as argv[0]
            Assert.Equal($"{file} kd-oracle run{i}", e.CommandLine);
            Assert.Equal(ExecArgumentSource.Kernel, e.ArgumentSource);
            Assert.False(e.ArgumentsTruncated);
            Assert.InRange(e.Time, DateTimeOffset.Now.AddSeconds(-30), DateTimeOffset.Now.AddSeconds(1));
        }
        Assert.True(mine.Zip(mine.Skip(1)).All(p => p.First.Time <= p.Second.Time), "events come in order");
        Assert.Equal(20, mine.Select(e => e.ProcessId).Distinct().Count());
        Assert.Empty(t.Session.NotUnloaded);
        SyscallLatencyLiveTests.AssertNoProgramLeft(ids);
    }

    [Fact]
    public void Exit_TwentyRuns_ExitCodesZeroAndOne_WithLifetime()
    {
        var t = ProcessExitTracer.Start(KernelRoot.Live, new ProcessExitOptions { Filter = new BpfTaskFilter { Cgroup = OwnCgroup() }, ProgramStatistics = false });
        var ids = t.Session.ProgramIds;
        var started = DateTimeOffset.Now;
        List<ProcessExit> mine;
        using (t)
        {
            RunTrueFalse(20);
            var all = Collect(t, l => l.Count(e => e.ParentProcessId == Self && e.Command is "true" or "false") >= 20);
            mine = all.Where(e => e.ParentProcessId == Self && e.Command is "true" or "false").ToList();
            Assert.Equal(0UL, t.LostEvents);
        }
        Assert.Equal(20, mine.Count);
        for (int i = 0; i < 20; i++)
        {
            var e = mine[i];
            Assert.Equal(i % 2 == 0 ? "true" : "false", e.Command);
            Assert.Equal(i % 2, e.ExitCode);
            Assert.Null(e.Signal);
            Assert.Equal(e.ProcessId, e.ThreadId);
            Assert.InRange(e.Lifetime, TimeSpan.FromTicks(1), TimeSpan.FromSeconds(10));
            Assert.InRange(e.StartTime, started.AddSeconds(-1), e.Time);
        }
        SyscallLatencyLiveTests.AssertNoProgramLeft(ids);
    }

    [Fact]
    public void Signal_KillUsr1ToChild_SeenWithSenderAndTarget_AndItsExitBySignal()
    {
        using var child = Process.Start(new ProcessStartInfo("/bin/sleep", ["30"]))!;
        var sig = SignalTracer.Start(KernelRoot.Live, new SignalOptions { Filter = new BpfTaskFilter { ProcessIds = [Self] }, ProgramStatistics = false });
        var exit = ProcessExitTracer.Start(KernelRoot.Live, new ProcessExitOptions { ProgramStatistics = false });
        var ids = sig.Session.ProgramIds.Concat(exit.Session.ProgramIds).ToList();
        List<SignalSent> signals;
        List<ProcessExit> exits;
        using (sig)
        using (exit)
        {
            Thread.Sleep(50);   // let sleep reach its exec
            Assert.Equal(0, kill(child.Id, 10));
            Assert.True(child.WaitForExit(5000));
            signals = Collect(sig, l => l.Any(s => s.TargetProcessId == child.Id));
            exits = Collect(exit, l => l.Any(e => e.ProcessId == child.Id));
        }
        var s = Assert.Single(signals, s => s.TargetProcessId == child.Id);
        Assert.Equal(Self, s.ProcessId);
        Assert.Equal(10, s.SignalNumber);
        Assert.Equal("SIGUSR1", s.Signal);
        Assert.Equal("SI_USER", s.Code);
        Assert.Equal(SignalResult.Delivered, s.Result);
        Assert.Equal("sleep", s.TargetCommand);
        Assert.All(signals, x => Assert.Equal(Self, x.ProcessId));   // the sender filter held
        var x = Assert.Single(exits, e => e.ProcessId == child.Id);
        Assert.Null(x.ExitCode);
        Assert.Equal("SIGUSR1", x.Signal);
        Assert.Equal(Self, x.ParentProcessId);
        SyscallLatencyLiveTests.AssertNoProgramLeft(ids);
    }

    [Fact]
    public void Runner_StreamsRecordsAsTheyArrive_NotAtTheEnd()
    {
        var t = ProcessExecTracer.Start(KernelRoot.Live, new ProcessExecOptions { ProgramStatistics = false });
        var ids = t.Session.ProgramIds;
        var clock = Stopwatch.StartNew();
        TimeSpan? seenAt = null;
        var seen = new List<ProcessExec>();
        using (t)
        {
            var spawner = new Thread(() =>
            {
                Thread.Sleep(300);
                using var p = Process.Start(new ProcessStartInfo("/bin/true", ["kd-stream"]))!;
                p.WaitForExit();
            });
            spawner.Start();
            BpfRunner.Run<ProcessExec>(t, new SamplingPlan { Duration = TimeSpan.FromSeconds(3) }.Validate(), records =>
            {
                seen.AddRange(records);
                if (seenAt is null && records.Any(r => r.ParentProcessId == Self && r.Arguments.ElementAtOrDefault(1) == "kd-stream")) seenAt = clock.Elapsed;
            }, CancellationToken.None);
            spawner.Join();
        }
        Assert.True(seenAt is not null, $"received {t.ReceivedEvents}, lost {t.LostEvents}: {string.Join(" | ", seen)}");
        Assert.True(seenAt < TimeSpan.FromSeconds(2), $"the exec was emitted at {seenAt}, not while it ran");
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(3));
        SyscallLatencyLiveTests.AssertNoProgramLeft(ids);
    }

    [Fact]
    public void MissingTracepoint_IsNamedInTheError()
    {
        var dir = Directory.CreateTempSubdirectory("kd-tp-");
        try
        {
            Directory.CreateDirectory(Path.Combine(dir.FullName, "sys/kernel/tracing/events/sched/sched_process_exit"));
            var root = new KernelRoot(dir.FullName);
            BpfPreconditions.RequireTracepoints(root, ["sched:sched_process_exit"]);
            var e = Assert.Throws<KernelDebugException>(() => BpfPreconditions.RequireTracepoints(root, ["sched:sched_process_exit", "oom:mark_victim"]));
            Assert.Equal("BpfTracepointMissing", e.ErrorId);
            Assert.Contains("oom:mark_victim", e.Message);
            Assert.Equal(KernelErrorCategory.NotImplemented, e.Category);
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void Live_TracepointsOfTheTools_ArePresent_AndAnInventedOneIsNot()
    {
        BpfPreconditions.RequireTracepoints(KernelRoot.Live, ["sched:sched_process_exec", "sched:sched_process_exit", "signal:signal_generate"]);
        Assert.Throws<KernelDebugException>(() => BpfPreconditions.RequireTracepoints(KernelRoot.Live, ["sched:kd_no_such_tracepoint"]));
    }

    [Theory]
    [InlineData(0, 0, null, false)]
    [InlineData(1 << 8, 1, null, false)]
    [InlineData(255 << 8, 255, null, false)]
    [InlineData(9, null, 9, false)]
    [InlineData(11 | 0x80, null, 11, true)]
    public void ExitStatus_Decodes(int status, int? code, int? signal, bool core)
    {
        Assert.Equal((code, signal, core), ProcessExitTracer.DecodeStatus(status));
    }

    [Fact]
    public void Arguments_SplitOnNul_KeepTruncatedLast()
    {
        Assert.Equal(["a", "bc", ""], ProcessExecTracer.SplitArguments("a\0bc\0\0"u8));
        Assert.Equal(["a", "trunc"], ProcessExecTracer.SplitArguments("a\0trunc"u8));
        Assert.Empty(ProcessExecTracer.SplitArguments(""u8));
    }
}
