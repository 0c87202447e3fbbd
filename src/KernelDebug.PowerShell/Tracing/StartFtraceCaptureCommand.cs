using System.Management.Automation;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Tracing;

namespace KernelDebug.PowerShell.Tracing;

/// <summary>
/// <para type="synopsis">Starts an ftrace capture of kernel events in a private tracefs instance, never touching the global tracer.</para>
/// <para type="description">Start-FtraceCapture creates a tracefs instance named kerneldebug-PID-N (or kerneldebug-NAME with -Name), enables the events given by -Event (system:event, wildcards allowed), applies -Filter to each of them, restricts recording to the pids in -ProcessId (set_event_pid) and the CPUs in -Cpu (tracing_cpumask), sizes the per-CPU buffer to -BufferSize bytes, sets the trace clock to mono so events carry wall-clock times, and turns tracing on. It returns an FtraceCapture; read its events with Receive-FtraceCapture, stop it with Stop-FtraceCapture and delete it with Remove-FtraceCapture. A marker under /run/kerneldebug/ftrace names the owning process, so captures of a process that died are listed by Get-FtraceCapture as Orphaned. When the kernel rejects a filter, the error shows the kernel's own message (the expression with a caret under the problem). If any step fails or Ctrl+C is pressed, the instance is removed again. -Function asks for the function tracer; where the kernel refuses it (kernel lockdown makes it EPERM even inside an instance) the command fails before creating anything and says why. tracefs is mounted if it was not, and a verbose message says so.</para>
/// </summary>
/// <example>
///   <code>$c = Start-FtraceCapture -Event sched:sched_process_exec, sched:sched_process_exit</code>
///   <para>Records every exec and exit on the machine until the capture is stopped or removed.</para>
/// </example>
/// <example>
///   <code>Start-FtraceCapture -Event raw_syscalls:sys_enter -Filter 'id == 257' -ProcessId (Get-Process nginx).Id -BufferSize 4MB -Name nginx-open</code>
///   <para>Records the openat calls (syscall 257 on x86-64) of the nginx processes in a 4 MiB-per-CPU buffer named kerneldebug-nginx-open.</para>
/// </example>
/// <example>
///   <code>Start-FtraceCapture -Event 'block:*' -Cpu 0,1 -WhatIf</code>
///   <para>Shows what would be created, without creating it.</para>
/// </example>
[Cmdlet(VerbsLifecycle.Start, "FtraceCapture", SupportsShouldProcess = true)]
[OutputType(typeof(FtraceCapture))]
public sealed class StartFtraceCaptureCommand : FtraceSelectionCmdlet
{
    private FtraceSession? _session;

    /// <summary>
    /// <para type="description">Events to record, as system:event (sched:sched_switch); wildcards work in both parts (sched:*, *:sys_enter), and a bare name matches an event name or a whole system. Tab completion lists the kernel's events.</para>
    /// </summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(TracepointCompleter))]
    public string[] Event { get; set; } = Array.Empty<string>();

    /// <summary>
    /// <para type="description">Per-event filters: a hashtable of system:event to filter expression, such as @{ 'raw_syscalls:sys_enter' = 'id == 0'; 'sched:sched_switch' = 'prev_pid == 1' }. An entry overrides -Filter for its event; its event must be one of those -Event selected.</para>
    /// </summary>
    [Parameter]
    public System.Collections.Hashtable? EventFilter { get; set; }

    /// <summary>
    /// <para type="description">Functions to trace with the function tracer (set_ftrace_filter globs). Checked before anything is created: where the kernel refuses the function tracer the command fails and says why.</para>
    /// </summary>
    [Parameter]
    [SupportsWildcards]
    public string[] Function { get; set; } = Array.Empty<string>();

    /// <summary>
    /// <para type="description">Functions the function tracer leaves out (set_ftrace_notrace globs).</para>
    /// </summary>
    [Parameter]
    [SupportsWildcards]
    public string[] ExcludeFunction { get; set; } = Array.Empty<string>();

    /// <summary>
    /// <para type="description">Instance name; kerneldebug- is put in front when missing. Default: kerneldebug-PID-N.</para>
    /// </summary>
    [Parameter]
    [ValidatePattern("^[A-Za-z0-9_.-]+$")]
    public string? Name { get; set; }

    /// <inheritdoc />
    protected override void End()
    {
        var options = new FtraceCaptureOptions
        {
            Events = Event, Filter = Filter, Functions = Function, ExcludeFunctions = ExcludeFunction,
            ProcessIds = ProcessId, Cpus = Cpu, BufferSize = BufferSize, Name = Name,
            EventFilters = EventFilter?.Cast<System.Collections.DictionaryEntry>()
                .ToDictionary(e => e.Key.ToString() ?? "", e => e.Value?.ToString() ?? "", StringComparer.Ordinal),
        };
        string what = Function.Length > 0 ? $"functions {string.Join(", ", Function)}" : $"events {string.Join(", ", Event)}";
        if (!ShouldProcess($"a new tracefs instance in {TraceFs.Path}/instances", $"Start an ftrace capture of {what}")) return;
        var ctx = new ParseContext(TraceFs.Path);
        _session = FtraceSession.Create(TraceFs, options, ctx);
        WriteIssues(ctx);
        var capture = _session.Describe();
        WriteVerbose($"Created {capture.Instance} recording {capture.Events.Count} event(s).");
        WriteObject(capture);
        // Only once the capture is handed out does it outlive this command (Remove-FtraceCapture deletes it);
        // a Ctrl+C before this line removes it in Cleanup.
        _session.RemoveOnDispose = false;
    }

    /// <inheritdoc />
    protected override void Cleanup()
    {
        // Removes the instance unless it was handed out; a busy instance (Ctrl+C while set-up runs) is retried on the next call.
        _session?.Dispose();
        if (_session is { IsRemoved: true } or { RemoveOnDispose: false }) _session = null;
    }
}
