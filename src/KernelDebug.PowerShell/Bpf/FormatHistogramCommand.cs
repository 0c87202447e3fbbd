using System.Management.Automation;
using KernelDebug.Core.Bpf;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Bpf;

/// <summary>
/// <para type="synopsis">Prints a histogram the way libbpf-tools' print_log2_hist does: power-of-two rows, counts and a 40-character bar.</para>
/// <para type="description">Format-Histogram takes a Histogram, or any record that carries one in a Histogram property (such as SyscallLatency), and writes its distribution as text: a header naming the record (syscall and process), then rows like '     16 -> 31         : 1234     |*****     |'. Values are shown in the chosen -Unit (microseconds by default, as libbpf-tools' tools do); the record itself keeps the fine log-linear buckets for percentiles and export.</para>
/// </summary>
/// <example>
///   <code>Measure-SyscallLatency -Duration 0:0:5 -Syscall read | Format-Histogram</code>
///   <para>The latency distribution of read(2) across the machine, as syscount -L or bpftrace would print it.</para>
/// </example>
/// <example>
///   <code>$r = Measure-SyscallLatency -Duration 0:0:5 -Top 3; $r | Format-Histogram -Unit nsecs</code>
///   <para>Histograms of the three syscalls with the most total time, in nanoseconds.</para>
/// </example>
[Cmdlet(VerbsCommon.Format, "Histogram")]
[OutputType(typeof(string))]
public sealed class FormatHistogramCommand : KernelCmdlet
{
    /// <summary>
    /// <para type="description">A Histogram, or a record with a Histogram property.</para>
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    public PSObject? InputObject { get; set; }

    /// <summary>
    /// <para type="description">The unit of the rows: usecs (default), nsecs or msecs; ns, us, ms and the full names (microseconds...) work too.</para>
    /// </summary>
    [Parameter]
    [ValidateSet("nsecs", "usecs", "msecs", "ns", "us", "ms", "nanoseconds", "microseconds", "milliseconds")]
    public string Unit { get; set; } = "usecs";

    /// <inheritdoc />
    protected override void Process()
    {
        if (InputObject is null) return;
        var histogram = InputObject.BaseObject as Histogram ?? InputObject.Properties["Histogram"]?.Value switch
        {
            Histogram h => h,
            PSObject { BaseObject: Histogram h } => h,
            _ => null,
        };
        if (histogram is null)
        {
            WriteError(new ErrorRecord(new ArgumentException("The input is not a Histogram and has no Histogram property."),
                "NotAHistogram", ErrorCategory.InvalidType, InputObject));
            return;
        }
        string unit = Unit.ToLowerInvariant() switch { "ns" or "nsecs" or "nanoseconds" => "nsecs", "ms" or "msecs" or "milliseconds" => "msecs", _ => "usecs" };
        ulong divisor = unit switch { "nsecs" => 1, "msecs" => 1_000_000, _ => 1000 };
        var header = InputObject.BaseObject switch
        {
            SyscallLatency s when s.ProcessId is not null => $"syscall = {s.Syscall}, pid = {s.ProcessId}, comm = {s.Command}",
            SyscallLatency s => $"syscall = {s.Syscall}",
            _ => null,
        };
        var text = histogram.ToLog2Text(unit, divisor);
        WriteObject((header is null ? "" : header + "\n") + (text.Length == 0 ? "(no values)\n" : text));
    }
}
