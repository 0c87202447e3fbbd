using System.Diagnostics;
using KernelDebug.Core.Tracing;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.PowerShell.Tests;

/// <summary>The ftrace cmdlets in-process on the live kernel. Every test checks the top tracefs instance is
/// byte-identical afterwards and that no instance of this process is left.</summary>
[Collection("ftrace-live")]
public sealed class FtraceCmdletTests : IDisposable
{
    private readonly TraceFsState _before = TraceFsState.Capture();

    public void Dispose()
    {
        Assert.Empty(_before.Differences(TraceFsState.Capture()));
        Assert.Empty(TraceFsState.InstancesOf(Environment.ProcessId));
    }

    private static int RunTrue()
    {
        using var p = Process.Start(new ProcessStartInfo("/usr/bin/true") { UseShellExecute = false })!;
        p.WaitForExit();
        return p.Id;
    }

    [Fact]
    public void StartGetReceiveStopRemove_ChainByName()
    {
        var r = PsRunner.Run("Start-FtraceCapture -Event sched:sched_process_exec -Name \"pstest-$PID\" -BufferSize 64KB");
        Assert.Null(r.Terminating);
        var cap = Assert.Single(r.Objects<FtraceCapture>());
        Assert.Equal($"kerneldebug-pstest-{Environment.ProcessId}", cap.Name);
        Assert.Equal(FtraceCaptureState.Running, cap.State);
        try
        {
            int pid = RunTrue();
            r = PsRunner.Run($"Get-FtraceCapture -Name 'pstest-{Environment.ProcessId}' | Stop-FtraceCapture -PassThru");
            Assert.Equal(FtraceCaptureState.Stopped, Assert.Single(r.Objects<FtraceCapture>()).State);
            r = PsRunner.Run($"Get-FtraceCapture -Name '*pstest-{Environment.ProcessId}' | Receive-FtraceCapture");
            Assert.Null(r.Terminating);
            var ev = Assert.Single(r.Objects<FtraceEvent>(), e => e.ProcessId == pid);
            Assert.Equal("/usr/bin/true", ev.Fields["filename"]);
            Assert.Equal("true", ev.Command);
            // Formatting through the view must work and show the event name.
            var text = PsRunner.Run($"Get-FtraceCapture -Name 'pstest-{Environment.ProcessId}' | Out-String");
            Assert.Contains($"kerneldebug-pstest-{Environment.ProcessId}", Assert.Single(text.Output).ToString());
            Assert.Contains("Stopped", text.Output[0].ToString());
        }
        finally
        {
            r = PsRunner.Run($"Get-FtraceCapture -Name 'pstest-{Environment.ProcessId}' | Remove-FtraceCapture -PassThru");
        }
        Assert.Single(r.Objects<FtraceCapture>());
        Assert.False(Directory.Exists(cap.Instance));
    }

    [Fact]
    public void EventFilter_AppliesPerEvent()
    {
        var r = PsRunner.Run("$c = Start-FtraceCapture -Event raw_syscalls:sys_enter, raw_syscalls:sys_exit -EventFilter @{ 'raw_syscalls:sys_enter' = 'id == 231' } -Filter 'id == 60'; /usr/bin/true; Stop-FtraceCapture -Name $c.Name; Receive-FtraceCapture -Name $c.Name; Remove-FtraceCapture -Name $c.Name");
        Assert.Null(r.Terminating);
        var ev = r.Objects<FtraceEvent>();
        Assert.Contains(ev, e => e.Event == "sys_enter");
        Assert.All(ev.Where(e => e.Event == "sys_enter"), e => Assert.Equal(231L, e.Fields["id"]));
        Assert.All(ev.Where(e => e.Event == "sys_exit"), e => Assert.Equal(60L, e.Fields["id"]));
        var bad = PsRunner.Run("Start-FtraceCapture -Event raw_syscalls:sys_enter -EventFilter @{ 'sched:sched_switch' = 'prev_pid == 1' }");
        Assert.StartsWith("FtraceFilterEventNotSelected", bad.Terminating!.FullyQualifiedErrorId);
    }

    [Fact]
    public void WhatIf_CreatesNothing()
    {
        var r = PsRunner.Run("Start-FtraceCapture -Event raw_syscalls:sys_enter -WhatIf");
        Assert.Null(r.Terminating);
        Assert.Empty(r.Output);
        Assert.Empty(TraceFsState.InstancesOf(Environment.ProcessId));
    }

    [Fact]
    public void Function_FailsUpFrontWithTheReason()
    {
        var r = PsRunner.Run("Start-FtraceCapture -Function 'vfs_*'");
        if (FunctionTracing.ProbeFunctionTracer(Core.Tracing.TraceFs.Locate(Core.KernelRoot.Live)) is null)
            Assert.Skip("the function tracer is allowed on this kernel, so there is no refusal to check");
        Assert.NotNull(r.Terminating);
        Assert.StartsWith("FunctionTracerRefused", r.Terminating!.FullyQualifiedErrorId);
        Assert.Equal(System.Management.Automation.ErrorCategory.PermissionDenied, r.Terminating.CategoryInfo.Category);
        Assert.Contains("EPERM", r.Terminating.ErrorDetails!.Message);
        Assert.Contains("lockdown", r.Terminating.ErrorDetails.Message);

        var m = PsRunner.Run("Measure-KernelFunction -Name 'vfs_read' -Duration 00:00:01");
        Assert.StartsWith("KernelFunctionCountingUnavailable", m.Terminating!.FullyQualifiedErrorId);
        Assert.Contains("fentry", m.Terminating.ErrorDetails!.Message);
    }

    [Fact]
    public void BadFilter_IsTerminatingWithTheKernelsMessage()
    {
        var r = PsRunner.Run("Start-FtraceCapture -Event raw_syscalls:sys_enter -Filter 'idd == 3'");
        Assert.StartsWith("FtraceFilterRejected", r.Terminating!.FullyQualifiedErrorId);
        Assert.Contains("Field not found", r.Terminating.ErrorDetails!.Message);
    }

    [Fact]
    public void TraceKernelEvent_ScriptBlock_SeesItsOwnChild()
    {
        var r = PsRunner.Run("Trace-KernelEvent -Event sched:sched_process_exec -ScriptBlock { /usr/bin/true; $global:kdpid = (Start-Process /usr/bin/true -PassThru -Wait).Id }; \"pid=$global:kdpid\"");
        Assert.Null(r.Terminating);
        int pid = int.Parse(r.Output.Last().ToString()[4..]);
        Assert.Contains(r.Objects<FtraceEvent>(), e => e.ProcessId == pid && (string?)e.Fields["filename"] == "/usr/bin/true");
    }

    [Fact]
    public void TraceKernelEvent_Count_And_Duration()
    {
        var r = PsRunner.Run("Trace-KernelEvent -Event raw_syscalls:sys_enter -Count 3 -Duration 00:00:05");
        Assert.Null(r.Terminating);
        Assert.Equal(3, r.Objects<FtraceEvent>().Count);
        var sw = Stopwatch.StartNew();
        r = PsRunner.Run("Trace-KernelEvent -Event sched:sched_process_exec -Duration 00:00:01 -Filter 'pid == 1'");
        Assert.InRange(sw.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(20));
        Assert.Empty(r.Objects<FtraceEvent>());
    }

    [Fact]
    public void CtrlC_RemovesTheInstance_Repeatedly()
    {
        for (int i = 0; i < 5; i++)
        {
            var r = PsRunner.RunAndStop("Trace-KernelEvent -Event 'raw_syscalls:*'", TimeSpan.FromMilliseconds(400 + 100 * i));
            Assert.Null(r.Terminating);
            Assert.Empty(TraceFsState.InstancesOf(Environment.ProcessId));
        }
    }

    [Fact]
    public void GetKernelTracepoint_FieldsAndWildcards()
    {
        var r = PsRunner.Run("Get-KernelTracepoint 'raw_syscalls:*'");
        Assert.Equal(new[] { "sys_enter", "sys_exit" }, r.Objects<TraceEventFormat>().Select(f => f.Name).Order());
        var fixture = PsRunner.Run($"Get-KernelTracepoint sched_process_exec -Root '{TestPaths.Fixture("tracing", "live-6.18")}'");
        var f = Assert.Single(fixture.Objects<TraceEventFormat>());
        Assert.Equal(TraceFieldKind.DynamicString, f.Fields.Single(x => x.Name == "filename").Kind);
        Assert.StartsWith("TracepointNotFound", PsRunner.Run("Get-KernelTracepoint nosuch:event").Errors.Single().FullyQualifiedErrorId);
    }

    [Fact]
    public void KilledOwner_LeavesAnOrphan_ThatRemoveOrphanedRemoves()
    {
        if (!File.Exists(Path.Combine(TestPaths.ModuleDirectory, "KernelDebug.psd1"))) Assert.Skip("the module is not built (run build.ps1 Build)");
        using var pwsh = Unprivileged.StartPwsh("$c = Start-FtraceCapture -Event sched:sched_switch; Start-Sleep 120");
        // Wait for the instance itself (stdout of a redirected pwsh is not a reliable handshake).
        string? name = null;
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline && !pwsh.HasExited)
        {
            name = TraceFsState.InstancesOf(pwsh.Id).FirstOrDefault();
            if (name is not null && File.Exists(Path.Combine(FtraceOwnerMarker.Directory, name + ".json"))
                && File.ReadAllText(Path.Combine(Core.Tracing.TraceFs.Locate(Core.KernelRoot.Live).Resolve("instances/" + name), "tracing_on")).Trim() == "1") break;
            name = null;
            Thread.Sleep(200);
        }
        if (name is null) { if (!pwsh.HasExited) pwsh.Kill(); }
        Assert.True(name is not null, "the capturing pwsh did not start a capture: " + (pwsh.HasExited ? pwsh.StandardError.ReadToEnd() : "timeout"));
        Assert.Equal($"kerneldebug-{pwsh.Id}-1", name);
        var running = PsRunner.Run($"Get-FtraceCapture -Name '{name}'");
        Assert.Equal(FtraceCaptureState.Running, Assert.Single(running.Objects<FtraceCapture>()).State);

        pwsh.Kill(); // SIGKILL: no cleanup can run in the owner
        pwsh.WaitForExit();

        var orphan = Assert.Single(PsRunner.Run($"Get-FtraceCapture -Name '{name}'").Objects<FtraceCapture>());
        Assert.Equal(FtraceCaptureState.Orphaned, orphan.State);
        Assert.Equal(pwsh.Id, orphan.OwnerProcessId);
        var removed = PsRunner.Run("Remove-FtraceCapture -Orphaned -PassThru");
        Assert.Contains(removed.Objects<FtraceCapture>(), c => c.Name == name);
        Assert.False(Directory.Exists(orphan.Instance));
        Assert.Empty(TraceFsState.InstancesOf(pwsh.Id));
    }
}
