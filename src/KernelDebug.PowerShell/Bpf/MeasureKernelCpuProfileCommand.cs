using System.Management.Automation;
using KernelDebug.Core;
using KernelDebug.Core.Bpf.Tools;

namespace KernelDebug.PowerShell.Bpf;

/// <summary>
/// <para type="synopsis">Samples what the CPUs run, with kernel and user stacks, using perf events and eBPF: the perf record -g -a of the origin document, as objects ready for ConvertTo-FoldedStack and Export-FlameGraph.</para>
/// <para type="description">Measure-KernelCpuProfile opens a cpu-clock perf event on every online CPU (or the -Cpu list) sampling at -Frequency (99 Hz by default, off the timer tick), and attaches a small precompiled BPF program (kd_pf_sample) that counts samples in the kernel per process and per kernel + user stack (bpf_get_stackid). At the end (-Duration or Ctrl+C), or every -Interval, it writes one KernelCpuSample per distinct stack: ProcessId, Command, Frames (leaf first: kernel frames symbolized through kallsyms, then user frames symbolized from the .symtab or .dynsym of the mapped file, else shown as binary+offset) and Count. -ProcessId samples only those processes (in the kernel); -KernelOnly drops user stacks and user-mode samples; the idle task is left out unless -IncludeIdle. -TopFunctions writes instead the functions with the most samples, Self (as the leaf) and Total (anywhere on the stack). Every program, perf event and link is removed on completion, on error and on Ctrl+C. Needs root, or CAP_BPF and CAP_PERFMON, and a kernel with BTF and perf events.</para>
/// </summary>
/// <example>
///   <code>Measure-KernelCpuProfile -Duration 0:0:10 | ConvertTo-FoldedStack -IncludeCommand | Export-FlameGraph -Path cpu.svg</code>
///   <para>Ten seconds of whole-machine sampling drawn as an interactive flame graph, split by process.</para>
/// </example>
/// <example>
///   <code>Measure-KernelCpuProfile -Duration 0:0:5 -KernelOnly -TopFunctions | Select-Object -First 15</code>
///   <para>The fifteen kernel functions the CPUs spent most samples in, with self and total percentages.</para>
/// </example>
/// <example>
///   <code>Get-Process postgres | Measure-KernelCpuProfile -Duration 0:0:30 | Group-Object Command | Sort-Object { ($_.Group | Measure-Object Count -Sum).Sum } -Descending</code>
///   <para>Samples of the postgres processes only, grouped by command name.</para>
/// </example>
[Cmdlet(VerbsDiagnostic.Measure, "KernelCpuProfile")]
[OutputType(typeof(KernelCpuSample), typeof(KernelCpuFunction))]
public sealed class MeasureKernelCpuProfileCommand : BpfMeasureCmdlet
{
    private readonly List<int> _pids = new();

    /// <summary>
    /// <para type="description">Samples per second on each CPU (1-10000, default 99: off the timer frequency, like perf and bcc's profile).</para>
    /// </summary>
    [Parameter]
    [ValidateRange(1, 10000)]
    public int Frequency { get; set; } = 99;

    /// <summary>
    /// <para type="description">Only these CPUs (default: every online CPU).</para>
    /// </summary>
    [Parameter]
    public int[]? Cpu { get; set; }

    /// <summary>
    /// <para type="description">Only samples of these processes (process ids, filtered in the kernel; at most 16). Binds Id from pipeline input.</para>
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "Pid")]
    public int[]? ProcessId { get; set; }

    /// <summary>
    /// <para type="description">Kernel stacks only: no user stacks are taken and samples in user mode are dropped.</para>
    /// </summary>
    [Parameter]
    public SwitchParameter KernelOnly { get; set; }

    /// <summary>
    /// <para type="description">Counts samples of the idle task (pid 0) too.</para>
    /// </summary>
    [Parameter]
    public SwitchParameter IncludeIdle { get; set; }

    /// <summary>
    /// <para type="description">Writes the functions with the most samples (KernelCpuFunction: Self, Total and percentages) instead of the stacks.</para>
    /// </summary>
    [Parameter]
    public SwitchParameter TopFunctions { get; set; }

    /// <inheritdoc />
    protected override string Activity => "Sampling CPU stacks";

    /// <inheritdoc />
    protected override void Process()
    {
        if (ProcessId is not null) _pids.AddRange(ProcessId);
    }

    /// <inheritdoc />
    protected override IEnumerable<object> Shape(IEnumerable<object> records) =>
        TopFunctions ? KernelCpuFunction.Summarize(records.OfType<KernelCpuSample>()) : records;

    /// <inheritdoc />
    protected override IBpfMeter<object> StartMeter(Action<string> verbose) =>
        KernelCpuProfiler.Start(KernelRoot.Live, new KernelCpuProfileOptions
        {
            Frequency = Frequency,
            Cpus = Cpu ?? [],
            ProcessIds = _pids.Distinct().ToArray(),
            Cgroup = Cgroup,
            KernelOnly = KernelOnly,
            IncludeIdle = IncludeIdle,
        }, verbose);
}
