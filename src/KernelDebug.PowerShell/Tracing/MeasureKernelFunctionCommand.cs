using System.Management.Automation;
using KernelDebug.Core;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Tracing;

using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Tracing;

/// <summary>
/// <para type="synopsis">Counts calls to kernel functions over a time window, top functions first (like bcc's funccount).</para>
/// <para type="description">Measure-KernelFunction counts how often the kernel functions matching -Name are called during -Duration, optionally only in the processes given by -ProcessId, and returns one FunctionCallCount per function, most-called first, naming the method used. It uses the function tracer in a private tracefs instance with the instance's own set_ftrace_filter; the global current_tracer is never set. The method is decided before anything is created: where the kernel refuses the function tracer (kernel lockdown makes it EPERM even inside an instance, and available_filter_functions unreadable), the command fails at once and says why, and names what the BPF fentry alternative needs.</para>
/// </summary>
/// <example>
///   <code>Measure-KernelFunction -Name 'vfs_*' -Duration 00:00:05 -Top 10</code>
///   <para>The ten most-called VFS functions over five seconds.</para>
/// </example>
/// <example>
///   <code>Measure-KernelFunction -Name 'tcp_*' -ProcessId (Get-Process nginx).Id | Export-Csv tcp-calls.csv</code>
///   <para>Counts TCP functions called by nginx and saves the counts.</para>
/// </example>
[Cmdlet(VerbsDiagnostic.Measure, "KernelFunction", SupportsShouldProcess = true)]
[OutputType(typeof(FunctionCallCount))]
public sealed class MeasureKernelFunctionCommand : FtraceCmdlet
{
    private FtraceSession? _session;

    /// <summary>
    /// <para type="description">Function names (set_ftrace_filter globs, such as vfs_* or tcp_sendmsg).</para>
    /// </summary>
    [Parameter(Mandatory = true, Position = 0)]
    [SupportsWildcards]
    public string[] Name { get; set; } = Array.Empty<string>();

    /// <summary>
    /// <para type="description">How long to count. Default: 10 seconds.</para>
    /// </summary>
    [Parameter]
    [DurationTransformation]
    public TimeSpan Duration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// <para type="description">Count only calls made by these process (thread) ids.</para>
    /// </summary>
    [Parameter]
    public int[] ProcessId { get; set; } = Array.Empty<int>();

    /// <summary>
    /// <para type="description">Return only the most-called N functions.</para>
    /// </summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? Top { get; set; }

    /// <inheritdoc />
    protected override void End()
    {
        var method = ChooseMethod(TraceFs);
        if (!ShouldProcess($"a temporary tracefs instance in {TraceFs.Path}/instances", $"Count calls to {string.Join(", ", Name)} with the {method}")) return;
        var ctx = new ParseContext(TraceFs.Path);
        _session = FtraceSession.Create(TraceFs, new FtraceCaptureOptions { Functions = Name, ProcessIds = ProcessId }, ctx);
        var counter = new FunctionCallCounter();
        var duration = Duration;
        var session = _session;
        Pump(async (writer, ct) =>
        {
            using var reader = session.OpenReader(ctx);
            await reader.StreamAsync(ev => { counter.Add(ev); return ValueTask.CompletedTask; }, duration, null, true, ct);
            if (reader.TotalLost > 0)
                await writer.WriteAsync(new ParseIssue(session.Name, 0, $"the kernel lost {reader.TotalLost} call record(s); the counts are low", null), ct);
        });
        var syms = KernelDebug.Core.Symbols.KernelSymbolTable.TryLoad(KernelRoot.Live);
        foreach (var r in counter.Results(syms is null ? null : syms.Symbolize, method, Top)) WriteObject(r);
    }

    /// <summary>Picks the counting method before anything is created, or throws why none works.</summary>
    internal static FunctionTracingMethod ChooseMethod(TraceFs fs)
    {
        var refused = FunctionTracing.ProbeFunctionTracer(fs);
        if (refused is null) return FunctionTracingMethod.FunctionTracer;
        bool btf = File.Exists("/sys/kernel/btf/vmlinux");
        throw new KernelDebugException("KernelFunctionCountingUnavailable", refused.Category,
            $"No way to count kernel function calls here. Function tracer: {refused.Message} " +
            $"BPF fentry: {(btf ? "the kernel has BTF, but" : "the kernel has no BTF (/sys/kernel/btf/vmlinux) and")} KernelDebug's BPF engine does not provide fentry counting yet.",
            "Count tracepoints instead (Trace-KernelEvent ... | Group-Object Name), or boot with lockdown=none to allow the function tracer.", refused.Target);
    }

    /// <inheritdoc />
    protected override void Cleanup()
    {
        // Ctrl+C calls this while a reader may still hold the instance open; then removal is retried on the next call.
        _session?.Dispose();
        if (_session is { IsRemoved: true } or { RemoveOnDispose: false }) _session = null;
    }
}
