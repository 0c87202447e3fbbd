using System.Management.Automation;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Tracing;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Tracing;

/// <summary>
/// <para type="synopsis">Lists the kernel's tracepoints with their ids, fields and print formats.</para>
/// <para type="description">Get-KernelTracepoint reads tracefs available_events and each event's format file and returns TraceEventFormat records: System, Name, Id, the fields (name, C type, offset, size, signedness, and how KernelDebug decodes them: integer, pointer, string, array, __data_loc string or array) and the print format the kernel uses. Use it to find what to pass to Start-FtraceCapture -Event and which fields a -Filter can test. With -Root it reads a snapshot's or fixture's sys/kernel/tracing.</para>
/// </summary>
/// <example>
///   <code>Get-KernelTracepoint 'sched:sched_process_*'</code>
///   <para>Lists the process lifecycle tracepoints.</para>
/// </example>
/// <example>
///   <code>(Get-KernelTracepoint raw_syscalls:sys_enter).Fields | Format-Table Name, Type, Offset, Size, IsSigned</code>
///   <para>Shows the fields a filter on raw_syscalls:sys_enter can use.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "KernelTracepoint")]
[OutputType(typeof(TraceEventFormat))]
public sealed class GetKernelTracepointCommand : KernelReaderCmdlet
{
    /// <summary>
    /// <para type="description">Tracepoints as system:event; wildcards allowed in both parts; a bare name matches an event or a system. Default: all.</para>
    /// </summary>
    [Parameter(Position = 0, ValueFromPipeline = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(TracepointCompleter))]
    public string[] Name { get; set; } = ["*"];

    /// <inheritdoc />
    protected override void Process()
    {
        var fs = TraceFs.Locate(KernelRoot, mountIfMissing: KernelRoot.IsLive);
        if (fs.MountedNow) WriteVerbose($"tracefs was not mounted; mounted it at {fs.Path}.");
        var ctx = new ParseContext(fs.Path);
        var catalog = new TraceEventCatalog(fs, ctx);
        var seen = new HashSet<string>();
        foreach (var pattern in Name)
        {
            var hits = catalog.Match(pattern);
            if (hits.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(pattern))
                WriteKernelError(new Core.Errors.KernelDebugException("TracepointNotFound", Core.Errors.KernelErrorCategory.ObjectNotFound,
                    $"No tracepoint matches '{pattern}'.", "Run Get-KernelTracepoint without -Name to list them all.", pattern));
            foreach (var ev in hits)
            {
                if (!seen.Add(ev)) continue;
                var f = catalog.Get(ev);
                if (f is not null) WriteObject(f);
            }
            WriteIssues(ctx);
        }
    }
}
