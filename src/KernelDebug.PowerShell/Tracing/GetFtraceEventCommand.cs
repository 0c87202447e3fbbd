using System.Management.Automation;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Tracing;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Tracing;

/// <summary>
/// <para type="synopsis">Reads the events of a trace-cmd trace.dat file as FtraceEvent records.</para>
/// <para type="description">Get-FtraceEvent reads files written by trace-cmd (record, extract, convert) in file format version 6 or 7, uncompressed or zstd/zlib-compressed, and decodes their ring-buffer pages with the event formats stored in the file into the same FtraceEvent records Receive-FtraceCapture returns, so a capture taken on another machine can be analysed in PowerShell. Events of every instance in the file are returned, each instance in time order. Damaged parts of a file are reported as warnings and the rest is still read. Wall-clock times are not known for files (Time is empty); Timestamp is on the recorded trace clock.</para>
/// </summary>
/// <example>
///   <code>Get-FtraceEvent -Path ./trace.dat | Group-Object Name | Sort-Object Count -Descending</code>
///   <para>Counts the events in a trace-cmd file by event name.</para>
/// </example>
/// <example>
///   <code>Get-FtraceEvent ./web1.dat | Where-Object Name -eq 'sched:sched_process_exec' | Select-Object Timestamp, ProcessId, @{ n = 'File'; e = { $_.Fields.filename } }</code>
///   <para>Lists the programs started on the machine the file was recorded on.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "FtraceEvent")]
[OutputType(typeof(FtraceEvent))]
public sealed class GetFtraceEventCommand : KernelCmdlet
{
    /// <summary>
    /// <para type="description">Path of a trace-cmd .dat file. Accepts pipeline input by property name (FullName of Get-ChildItem).</para>
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    public string Path { get; set; } = "";

    /// <inheritdoc />
    protected override void Process()
    {
        string path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
        if (!File.Exists(path))
            throw new KernelDebugException("TraceDatNotFound", KernelErrorCategory.ObjectNotFound, $"'{path}' does not exist.", null, path);
        var ctx = new ParseContext(path);
        Pump(async (writer, ct) =>
        {
            await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16);
            var file = TraceDatFile.Open(stream, ctx);
            foreach (var i in ctx.Drain()) await writer.WriteAsync(i, ct);
            if (file is null)
                throw new KernelDebugException("TraceDatInvalid", KernelErrorCategory.InvalidData, $"'{path}' is not a trace-cmd file of version 6 or 7.", "Write it with trace-cmd record/extract, or convert it: trace-cmd convert --file-version 7 -i old.dat -o new.dat.", path);
            await writer.WriteAsync(new VerboseMessage($"{path}: trace-cmd file version {file.Version}, compression {file.Compression}, {file.Formats.Count} event formats, {file.Buffers.Count} buffer(s)."), ct);
            foreach (var ev in file.ReadEvents())
            {
                if (ctx.Issues.Count > 0) foreach (var i in ctx.Drain()) await writer.WriteAsync(i, ct);
                await writer.WriteAsync(ev, ct);
            }
            foreach (var i in ctx.Drain()) await writer.WriteAsync(i, ct);
        });
    }
}
