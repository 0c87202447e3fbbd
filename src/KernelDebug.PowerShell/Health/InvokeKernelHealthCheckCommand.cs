using System.Management.Automation;
using KernelDebug.Core.Health;

namespace KernelDebug.PowerShell.Health;

/// <summary>
/// <para type="synopsis">Checks the kernel's health and returns findings: what is wrong, how badly, the evidence, and what to do.</para>
/// <para type="description">Invoke-KernelHealthCheck runs the checks of about_KernelHealthChecks — taint, debug features, crash reports and crash-dump readiness, panic settings, kernel log errors, OOM kills and segfault storms, memory and swap use, slab, CPU usage over a sampling interval (not the since-boot average), load per CPU, pressure stall, blocked tasks and the hung-task detector, lockdep, machine checks and EDAC memory errors — and emits one KernelHealthFinding per result, with a Severity (Ok, Info, Warning, Error, Critical) that sorts, a stable CheckId, the Evidence records behind it and a specific Recommendation. With -Root it checks a snapshot taken by Save-KernelSnapshot: checks that must sample the live system report Info "not available offline". Checks that cannot read what they need report Info with the reason, so one missing file never stops the run.</para>
/// </summary>
/// <example>
///   <code>Invoke-KernelHealthCheck | Where-Object Severity -ge Warning</code>
///   <para>Lists what needs attention on this machine.</para>
/// </example>
/// <example>
///   <code>Invoke-KernelHealthCheck -Area Memory,Cpu -Threshold @{ MemoryWarningPercent = 75 } -SampleInterval 00:00:05</code>
///   <para>Checks memory and CPU only, warning from 75 % memory use and sampling CPU usage over 5 seconds.</para>
/// </example>
/// <example>
///   <code>Invoke-KernelHealthCheck -Root ./web1-snapshot | Export-Csv web1-findings.csv</code>
///   <para>Checks a snapshot taken on another machine and keeps the findings as CSV.</para>
/// </example>
[Cmdlet(VerbsLifecycle.Invoke, "KernelHealthCheck")]
[OutputType(typeof(KernelHealthFinding))]
public sealed class InvokeKernelHealthCheckCommand : HealthCheckCmdlet
{
    /// <inheritdoc />
    protected override void Process() => RunChecks(WriteObject);
}
