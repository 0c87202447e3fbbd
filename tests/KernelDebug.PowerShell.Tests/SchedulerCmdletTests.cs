using System.Diagnostics;
using System.Management.Automation;
using KernelDebug.Core.Bpf;
using KernelDebug.Core.Bpf.Tools;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.PowerShell.Tests;

/// <summary>
/// Measure-RunQueueLatency, Measure-OffCpuTime, Measure-CpuTimeSlice hosted in this process, and -Cgroup on the BPF
/// tools: a child moved into a test cgroup (v2 and v1) is the only thing counted.
/// </summary>
[Collection(BpfToolsSerial.Name)]
public class SchedulerCmdletTests
{
    private static readonly string[] Ours = ["kd_rq_", "kd_cd_", "kd_oc_", "kd_sl_"];

    private static List<uint> ProgramIds(PsResult r)
    {
        var line = Assert.Single(r.Verbose, v => v.StartsWith("Attached with", StringComparison.Ordinal));
        return System.Text.RegularExpressions.Regex.Match(line, @"programs ([0-9, ]+)\.").Groups[1].Value
            .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(uint.Parse).ToList();
    }

    private static void AssertGone(IReadOnlyCollection<uint> ids)
    {
        Assert.NotEmpty(ids);
        Assert.Empty(BpfProgramInfo.ReadAll(resolveOwners: false).Where(p => ids.Contains(p.Id)));
    }

    [Fact]
    public void RunQueue_PerThreadOfThisProcess_ViewAndHistogram()
    {
        var r = PsRunner.Run("$r = Measure-RunQueueLatency -ProcessId $PID -GroupBy Thread -Duration 0:0:1 -Verbose; $r; ($r | Out-String); ($r | Select-Object -First 1 | Format-Histogram | Out-String)");
        Assert.Null(r.Terminating);
        var recs = r.Objects<RunQueueLatency>();
        Assert.NotEmpty(recs);
        Assert.All(recs, x => { Assert.NotNull(x.ThreadId); Assert.Null(x.ProcessId); Assert.True(x.Count > 0); Assert.NotNull(x.CgroupPath); });
        var text = string.Join("\n", r.Objects<string>());
        Assert.Contains("P99", text);
        Assert.Contains("usecs", text);
        AssertGone(ProgramIds(r));
    }

    [Fact]
    public void OffCpu_ThisProcess_FoldsIntoAnOffCpuFlameGraph()
    {
        string svg = Path.Combine(Path.GetTempPath(), $"kd-offcpu-{Guid.NewGuid():N}.svg");
        try
        {
            var r = PsRunner.Run($"Measure-OffCpuTime -ProcessId $PID -Duration 0:0:1 -Verbose | ConvertTo-FoldedStack | Export-FlameGraph -Path '{svg}' -Palette OffCpu");
            Assert.Null(r.Terminating);
            var file = Assert.Single(r.Objects<FileInfo>());
            string text = File.ReadAllText(file.FullName);
            Assert.Contains("schedule", text);
            // Blue boxes (off-CPU palette): red channel low, blue channel high.
            Assert.Matches(@"rgb\(\d{1,2},\d{3},(19\d|2\d\d)\)", text);
            AssertGone(ProgramIds(r));
        }
        finally { File.Delete(svg); }
    }

    [Fact]
    public void TimeSlice_OffCpu_DefaultView()
    {
        var r = PsRunner.Run("Measure-CpuTimeSlice -OffCpu -ProcessId $PID -GroupBy Process -Duration 0:0:1 -Verbose | Tee-Object -Variable recs | Out-String; $recs");
        Assert.Null(r.Terminating);
        var rec = Assert.Single(r.Objects<CpuTimeSlice>());
        Assert.True(rec.OffCpu);
        Assert.Equal(Environment.ProcessId, rec.ProcessId);
        Assert.Contains(rec.Command!, string.Join("\n", r.Objects<string>()));
        AssertGone(ProgramIds(r));
    }

    [Theory]
    [InlineData("Measure-RunQueueLatency")]
    [InlineData("Measure-OffCpuTime")]
    [InlineData("Measure-CpuTimeSlice")]
    public void StopMidRun_10Times_LeavesNothing(string cmd)
    {
        var rnd = new Random(7);
        for (int i = 0; i < 10; i++)
        {
            var r = PsRunner.RunAndStop($"{cmd} -Interval 0:0:0.05 -Continuous", TimeSpan.FromMilliseconds(rnd.Next(0, 250)));
            Assert.True(r.Terminating is null, r.ToString());
        }
        Assert.Empty(BpfProgramInfo.ReadAll(n => Ours.Any(p => n.StartsWith(p, StringComparison.Ordinal))).Where(p => p.OwnerProcessIds.Contains(Environment.ProcessId)));
    }

    [Theory]
    [InlineData("Measure-RunQueueLatency")]
    [InlineData("Measure-OffCpuTime")]
    [InlineData("Measure-CpuTimeSlice")]
    public void Unprivileged_GetsPermissionDenied(string cmd)
    {
        if (Unprivileged.WhyUnavailable() is { } why) Assert.Skip(why);
        var r = Unprivileged.RunPwsh($"try {{ {cmd} -Duration 0:0:1 }} catch {{ 'ID=' + $_.FullyQualifiedErrorId; 'CAT=' + $_.CategoryInfo.Category }}");
        Assert.Contains("ID=BpfPermissionDenied", r.StdOut);
        Assert.Contains("CAT=PermissionDenied", r.StdOut);
    }

    [Theory]
    [InlineData("-Duration 0", "DurationNotPositive")]
    [InlineData("-Duration -0:0:1", "DurationNotPositive")]
    [InlineData("-Interval 0", "DurationNotPositive")]
    [InlineData("-Interval 0.001", "InvalidInterval")]
    [InlineData("-Count 0", "InvalidCount")]
    [InlineData("-Cgroup /no/such/cgroup -Duration 0:0:1", "CgroupNotFound")]
    public void BadSampling_IsRejectedBeforeLoading(string args, string errorId)
    {
        var r = PsRunner.Run($"Measure-RunQueueLatency {args}");
        Assert.NotNull(r.Terminating);
        Assert.StartsWith(errorId, r.Terminating!.FullyQualifiedErrorId);
    }

    [Fact]
    public void IntervalWithCount_WritesThatManySamples()
    {
        var r = PsRunner.Run("Measure-CpuTimeSlice -ProcessId $PID -Interval 0:0:0.2 -Count 3");
        Assert.Null(r.Terminating);
        Assert.Equal(3, r.Objects<CpuTimeSlice>().Select(x => x.StartTime).Distinct().Count());
    }

    [Fact]
    public void Cgroup_Completion_ListsDirectories()
    {
        var r = PsRunner.Run("(TabExpansion2 -inputScript 'Measure-OffCpuTime -Cgroup /sys/fs/cgroup/' -cursorColumn 42).CompletionMatches.CompletionText");
        Assert.Contains(r.Output.Select(o => o.ToString()), t => t.StartsWith("/sys/fs/cgroup/", StringComparison.Ordinal));
    }

    /// <summary>A child shell that keeps sleeping, moved into a fresh cgroup of the given hierarchy.</summary>
    private sealed class CgroupChild : IDisposable
    {
        public readonly string Dir;
        public readonly Process Child;
        public CgroupChild(string hierarchy)
        {
            Dir = Path.Combine(hierarchy, $"kd-test-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]);
            Directory.CreateDirectory(Dir);
            Child = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", "while :; do sleep 0.01; done"]))!;
            File.WriteAllText(Path.Combine(Dir, "cgroup.procs"), Child.Id.ToString());
        }
        public void Dispose()
        {
            try { Child.Kill(true); Child.WaitForExit(); } catch (InvalidOperationException) { }
            for (int i = 0; i < 50; i++)
            {
                try { Directory.Delete(Dir); return; }
                catch (IOException) { Thread.Sleep(20); }
            }
        }
    }

    public static TheoryData<string> Hierarchies => new() { "/sys/fs/cgroup/unified", "/sys/fs/cgroup/cpu" };

    [Theory]
    [MemberData(nameof(Hierarchies))]
    public void Cgroup_OnlyTheChildsTasks_WithTheirCgroupPath(string hierarchy)
    {
        if (!File.Exists(Path.Combine(hierarchy, "cgroup.procs"))) Assert.Skip($"no cgroup hierarchy at {hierarchy} on this machine");
        using var cg = new CgroupChild(hierarchy);
        string rel = cg.Dir[hierarchy.Length..];
        var r = PsRunner.Run($"Measure-OffCpuTime -Cgroup '{cg.Dir}' -Duration 0:0:1");
        Assert.Null(r.Terminating);
        var off = r.Objects<OffCpuTime>();
        Assert.NotEmpty(off);
        Assert.All(off, x => Assert.Equal(rel, x.CgroupPath));
        Assert.All(off, x => Assert.NotEqual(Environment.ProcessId, x.ProcessId));
        Assert.Contains(off, x => x.ProcessId == cg.Child.Id && x.Stack.Any(f => f.Function.Contains("wait", StringComparison.Ordinal)));
        Assert.Contains(off, x => x.Command == "sleep" && x.Stack.Any(f => f.Function.Contains("nanosleep", StringComparison.Ordinal)));

        var rq = PsRunner.Run($"Measure-RunQueueLatency -Cgroup '{cg.Dir}' -GroupBy Process -Duration 0:0:1");
        Assert.Null(rq.Terminating);
        var procs = rq.Objects<RunQueueLatency>();
        Assert.NotEmpty(procs);
        Assert.All(procs, x => { Assert.Equal(rel, x.CgroupPath); Assert.NotEqual(Environment.ProcessId, x.ProcessId); });

        // An existing tool through the same filter: only the child's system calls.
        var sl = PsRunner.Run($"Measure-SyscallLatency -Cgroup '{cg.Dir}' -ByProcess -Duration 0:0:1");
        Assert.Null(sl.Terminating);
        var calls = sl.Objects<SyscallLatency>();
        Assert.NotEmpty(calls);
        Assert.All(calls, x => Assert.Contains(x.Command, new[] { "sh", "sleep" }));
    }
}
