using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using KernelDebug.Core;
using KernelDebug.Core.Bpf.Tools;
using KernelDebug.Core.Procfs;

namespace KernelDebug.PowerShell.Bpf;

/// <summary>
/// <para type="synopsis">Measures the time spent in hard IRQ handlers and softirq vectors with eBPF: runs, total time, share of CPU, min, mean, P50, P90, P99, max and a histogram per handler or vector, in total or per CPU (hardirqs and softirqs).</para>
/// <para type="description">Measure-InterruptTime attaches a small precompiled CO-RE BPF program (kd_irq_*) to the irq_handler_entry/irq_handler_exit and softirq_entry/softirq_exit tracepoints (raw_tp, else tp_btf): each handler run's time goes into a log-linear histogram keyed by IRQ number and handler name (as /proc/interrupts names it), each softirq run's into one per vector (TIMER, NET_RX, RCU ...), like libbpf-tools' hardirqs and softirqs in one tool. -Kind Hard or Soft loads only those programs; -PerCpu writes one record per CPU; -Cpu keeps only the named CPUs (and implies -PerCpu); -Name keeps handlers and vectors whose name or IRQ number matches a wildcard. CpuPercent is the share of CPU time (of one CPU per CPU record, else of all CPUs); Unhandled counts handler runs that returned IRQ_NONE (a shared line's other device, or a spurious interrupt). A hard IRQ that arrives during a softirq counts in both, as softirqs counts it. Interrupts belong to no task, so -Cgroup is refused. Sampling works as Get-Counter's: -Duration (one result), -Interval (a sample; -Count N samples), -Continuous, or until Ctrl+C. Everything loaded is gone when the command returns, also on error and Ctrl+C. Needs root, or CAP_BPF and CAP_PERFMON, and a kernel with BTF.</para>
/// </summary>
/// <example>
///   <code>Measure-InterruptTime -Duration 5</code>
///   <para>Five seconds of every hard IRQ handler and softirq vector, the most time first.</para>
/// </example>
/// <example>
///   <code>Measure-InterruptTime -Kind Soft -PerCpu -Interval 1 -Count 10 | Where-Object CpuPercent -gt 20</code>
///   <para>Ten one-second samples of softirq time per CPU, keeping the CPUs where a vector took more than a fifth of the CPU: a NET_RX storm on one CPU shows here.</para>
/// </example>
/// <example>
///   <code>Measure-InterruptTime -Kind Hard -Name virtio* -Duration 10 | Format-Histogram</code>
///   <para>The latency histograms of the virtio devices' interrupt handlers over ten seconds.</para>
/// </example>
[Cmdlet(VerbsDiagnostic.Measure, "InterruptTime")]
[OutputType(typeof(InterruptTime))]
public sealed class MeasureInterruptTimeCommand : BpfMeasureCmdlet
{
    /// <summary>
    /// <para type="description">Hard (IRQ handlers), Soft (softirq vectors) or both (the default).</para>
    /// </summary>
    [Parameter(Position = 0)]
    public InterruptKind[]? Kind { get; set; }

    /// <summary>
    /// <para type="description">Only handlers and vectors whose name (e.g. virtio0-requests, NET_RX) or IRQ number matches one of these wildcard patterns; tab completion lists the machine's.</para>
    /// </summary>
    [Parameter]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(InterruptNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>
    /// <para type="description">One record per CPU.</para>
    /// </summary>
    [Parameter]
    public SwitchParameter PerCpu { get; set; }

    /// <summary>
    /// <para type="description">Only these CPUs (implies -PerCpu).</para>
    /// </summary>
    [Parameter]
    [ValidateRange(0, 8191)]
    public int[]? Cpu { get; set; }

    private Infrastructure.NameFilter _names = new(null);

    /// <inheritdoc />
    protected override string Activity => "Measuring interrupt time";

    /// <inheritdoc />
    protected override void Validate()
    {
        // A literal name the machine has no handler or vector of is a typo: say so, as Get-Process does.
        _names = new Infrastructure.NameFilter(Name);
        if (_names.IsEmpty) return;
        foreach (var (name, _) in InterruptsReader.KnownNames(KernelRoot.Live)) _names.IsMatch(name);
        _names.ReportUnmatched(this, "InterruptNotFound", "interrupt handler or softirq vector", "Tab completion lists the handlers in /proc/interrupts and the vectors in /proc/softirqs.");
    }

    /// <inheritdoc />
    protected override IEnumerable<object> Shape(IEnumerable<object> records) =>
        Cpu is { Length: > 0 } cpus ? records.Where(r => r is InterruptTime { Cpu: { } c } && cpus.Contains(c)) : records;

    /// <inheritdoc />
    protected override IBpfMeter<object> StartMeter(Action<string> verbose) =>
        InterruptTimeMeter.Start(KernelRoot.Live, new InterruptTimeOptions
        {
            Kinds = Kind?.Distinct().ToArray() ?? [],
            PerCpu = PerCpu || Cpu is { Length: > 0 },
            NameFilter = _names.IsEmpty ? null : n => _names.IsMatch(n),
            Filter = Filter(),
            ProgramStatistics = !NoProgramStatistics,
        }, verbose);
}

/// <summary>Completes hard IRQ handler names (/proc/interrupts) and softirq vector names (/proc/softirqs).</summary>
public sealed class InterruptNameCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var pattern = new WildcardPattern(wordToComplete.Trim('\'', '"') + "*", WildcardOptions.IgnoreCase);
        return InterruptsReader.KnownNames(KernelRoot.Live).Where(n => pattern.IsMatch(n.Name))
            .Select(n => new CompletionResult(n.Name.Contains(' ') ? $"'{n.Name}'" : n.Name, n.Name, CompletionResultType.ParameterValue, n.Description));
    }
}
