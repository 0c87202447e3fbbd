using System.Management.Automation;
using KernelDebug.Core.Inventory;
using KernelDebug.Core.Parsing;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Inventory;

/// <summary>
/// <para type="synopsis">Gets what the kernel is and how it was started: release, architecture, boot time, command line, taint, lockdown, crash-dump readiness.</para>
/// <para type="description">Get-KernelInfo reads /proc and /sys and returns one KernelInfo record: host name, kernel release and version string, architecture, boot time and uptime, the command line (raw and split into parameters), the taint value decoded into its flags, page size, CPU count, NUMA nodes, the kernel lockdown mode, whether a kdump crash kernel is loaded and how much memory it has reserved, and the pstore backend that keeps panic logs across a reboot. With -Root it reads a snapshot taken by Save-KernelSnapshot on another machine and gives that machine's answers.</para>
/// </summary>
/// <example>
///   <code>Get-KernelInfo</code>
///   <para>Shows the running kernel's release, uptime, taint and crash-dump readiness.</para>
/// </example>
/// <example>
///   <code>(Get-KernelInfo).Taint.Flags | Format-Table Bit, Letter, Meaning</code>
///   <para>Lists why the kernel is tainted, one flag per row.</para>
/// </example>
/// <example>
///   <code>Get-KernelInfo -Root ./web1-snapshot | Select-Object HostName, Release, BootTime</code>
///   <para>Reads a snapshot captured on another machine with Save-KernelSnapshot.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "KernelInfo")]
[OutputType(typeof(KernelInfo))]
public sealed class GetKernelInfoCommand : KernelReaderCmdlet
{
    /// <inheritdoc />
    protected override void Process()
    {
        var ctx = new ParseContext(KernelRoot.Path);
        WriteObject(KernelInfoReader.Read(KernelRoot, ctx));
        WriteIssues(ctx);
    }
}
