using System.Management.Automation;
using KernelDebug.Core.Bpf;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Bpf;

/// <summary>
/// <para type="synopsis">Gets the BPF programs loaded in the kernel: id, name, type, tag, load time, owning processes, and run count and time when BPF statistics are on.</para>
/// <para type="description">Get-BpfProgram walks every loaded BPF program with bpf(2) (BPF_PROG_GET_NEXT_ID, BPF_PROG_GET_FD_BY_ID, BPF_OBJ_GET_INFO_BY_FD), like 'bpftool prog show', and finds the processes that hold each program or a link to it by reading /proc/*/fdinfo. RunCount and RunTime are counted only while kernel BPF statistics are enabled (sysctl kernel.bpf_stats_enabled=1, or while a KernelDebug measurement runs). KernelDebug's own programs are all named kd_*, so 'Get-BpfProgram kd_*' shows whether anything of ours is loaded; after a measurement ends, nothing should be. Needs root (CAP_SYS_ADMIN).</para>
/// </summary>
/// <example>
///   <code>Get-BpfProgram</code>
///   <para>Every BPF program loaded on the machine, with its type, load time and owners.</para>
/// </example>
/// <example>
///   <code>Get-BpfProgram kd_* | Format-Table Id, Name, OwnerProcessIds</code>
///   <para>KernelDebug's own programs that are loaded right now, and which process holds them.</para>
/// </example>
/// <example>
///   <code>Get-BpfProgram | Where-Object RunCount -gt 0 | Sort-Object RunTime -Descending</code>
///   <para>With kernel.bpf_stats_enabled=1: the programs that cost the most CPU time.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "BpfProgram")]
[OutputType(typeof(BpfProgramInfo))]
public sealed class GetBpfProgramCommand : KernelCmdlet
{
    /// <summary>
    /// <para type="description">Only programs whose name matches one of these wildcard patterns (names are at most 15 characters).</para>
    /// </summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    public string[]? Name { get; set; }

    /// <summary>
    /// <para type="description">Skips finding the owning processes (faster on machines with many processes).</para>
    /// </summary>
    [Parameter]
    public SwitchParameter NoOwner { get; set; }

    /// <inheritdoc />
    protected override void Process()
    {
        var patterns = Name?.Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToArray();
        Func<string, bool>? match = patterns is { Length: > 0 } ? n => patterns.Any(p => p.IsMatch(n)) : null;
        foreach (var p in BpfProgramInfo.ReadAll(match, resolveOwners: !NoOwner).OrderBy(p => p.Id))
            WriteObject(p);
    }
}
