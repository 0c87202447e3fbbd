using System.Management.Automation;
using KernelDebug.Core;
using KernelDebug.Core.Bpf.Tools;

namespace KernelDebug.PowerShell.Bpf;

/// <summary>
/// <para type="synopsis">Traces OOM kills with eBPF as they happen: the victim, its memory and cgroup, the task whose allocation triggered the kill, and the constraint from the kernel log's report (oomkill).</para>
/// <para type="description">Trace-OomKill attaches a small precompiled CO-RE BPF program (kd_oom_*) to the oom:mark_victim tracepoint (raw_tp, else tp_btf), which the kernel hits when the OOM killer has chosen its victim, and streams one record per kill through a ring buffer: victim process, thread, command, user, oom_score_adj, virtual and resident memory, cgroup and container, and the process whose allocation ran out of memory. Each kill is joined with the kernel log's report of it (the one Get-KernelOomEvent reads): the constraint (a memory cgroup at its limit, a cpuset, a memory policy, or the whole machine), the cgroup that hit its limit and that limit, and the exact resident sizes; -NoKernelLog leaves the log alone. Unlike libbpf-tools' oomkill it needs no kprobe, so it works on kernels in lockdown. -ProcessId, -Cgroup filter the victims in the kernel, -Name by command. It traces for -Duration, for -Interval/-Count samples, -Continuous, or until Ctrl+C; events the ring buffer had no room for are counted and warned about. Everything loaded is gone when the command returns. Needs root, or CAP_BPF and CAP_PERFMON (and CAP_SYSLOG for the join when kernel.dmesg_restrict is set), and a kernel with BTF.</para>
/// </summary>
/// <example>
///   <code>Trace-OomKill -Continuous | Select-Object Time, ProcessId, Command, RssBytes, Constraint, OomCgroup</code>
///   <para>Every OOM kill until Ctrl+C, with what was killed, how big it was and which limit it hit.</para>
/// </example>
/// <example>
///   <code>Trace-OomKill -Cgroup /sys/fs/cgroup/memory/docker -Duration 01:00:00 | Export-Csv oom-kills.csv</code>
///   <para>An hour of OOM kills inside docker's cgroups, written as flat CSV rows for a spreadsheet.</para>
/// </example>
[Cmdlet(VerbsDiagnostic.Trace, "OomKill")]
[OutputType(typeof(OomKill))]
public sealed class TraceOomKillCommand : TaskMeasureCmdlet
{
    /// <summary>
    /// <para type="description">Does not join the kills with the kernel log's reports (Constraint, OomCgroup, MemcgLimitBytes and Report stay empty; memory sizes are the kernel's approximate counters).</para>
    /// </summary>
    [Parameter]
    public SwitchParameter NoKernelLog { get; set; }

    /// <inheritdoc />
    protected override string Activity => "Tracing OOM kills";

    /// <inheritdoc />
    protected override IBpfMeter<object> StartMeter(Action<string> verbose) =>
        OomKillTracer.Start(KernelRoot.Live, new OomKillOptions
        {
            Filter = TaskFilter,
            CommandFilter = CommandFilter,
            JoinKernelLog = !NoKernelLog,
            ProgramStatistics = !NoProgramStatistics,
        }, verbose);
}
