using System.Management.Automation;
using KernelDebug.Core.Inventory;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Inventory;

/// <summary>
/// <para type="synopsis">Gets which kernel debugging facilities this kernel offers (tracefs, BTF, BPF, kprobes, tracepoints, lockdep, KASAN, kdump, ...), why a missing one is missing, and what would enable it.</para>
/// <para type="description">Get-KernelDebugCapability probes the kernel's files and build configuration without changing anything and returns one DebugCapability record per facility: Name, Available, Detail (what was found), Reason (why it is not available) and Remedy (the mount command, sysctl, capability or CONFIG_ option that would make it available). It covers the tracefs, debugfs and bpffs mounts, BTF, the bpf() syscall and its JIT, unprivileged BPF, kprobes, uprobes, fentry, the function and function_graph tracers (listed tracers that kernel lockdown refuses are reported as unavailable, with the lockdown as the reason), the tracepoint families this module uses, perf events and perf_event_paranoid, kptr_restrict, kallsyms, lockdep, PROVE_LOCKING, LOCK_STAT, KASAN, KFENCE, SLUB debugging, kmemleak, the hung task and soft/hard lockup detectors, kdump, pstore, EDAC, machine checks, magic SysRq and CONFIG_DEBUG_KERNEL. Other KernelDebug cmdlets check their preconditions through the same probes, so their errors carry the same reason and remedy. With -Root it judges a snapshot.</para>
/// </summary>
/// <example>
///   <code>Get-KernelDebugCapability | Where-Object { -not $_.Available } | Format-Table Name, Reason, Remedy -Wrap</code>
///   <para>Lists what this kernel cannot do and how to fix each.</para>
/// </example>
/// <example>
///   <code>Get-KernelDebugCapability -Name Tracepoint.*, Btf, Fentry</code>
///   <para>Shows which eBPF attach points the tools can use here.</para>
/// </example>
/// <example>
///   <code>Get-KernelDebugCapability -Root ./web1-snapshot | Export-Csv web1-capabilities.csv</code>
///   <para>Records another machine's debugging facilities from its snapshot.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "KernelDebugCapability")]
[OutputType(typeof(DebugCapability))]
public sealed class GetKernelDebugCapabilityCommand : KernelReaderCmdlet
{
    /// <summary>
    /// <para type="description">Facility names to probe, with wildcards (e.g. Kprobes, Tracepoint.*). All when omitted.</para>
    /// </summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(DebugCapabilityNameCompleter))]
    public string[]? Name { get; set; }

    /// <inheritdoc />
    protected override void Process()
    {
        var probes = new DebugCapabilities(KernelRoot);
        if (Name is null || Name.Length == 0)
        {
            foreach (var c in probes.ProbeAll()) WriteObject(c);
            return;
        }
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (string n in Name)
        {
            var p = new WildcardPattern(n, WildcardOptions.IgnoreCase);
            var matches = DebugCapabilities.Names.Where(p.IsMatch).ToArray();
            if (matches.Length == 0 && !WildcardPattern.ContainsWildcardCharacters(n))
                WriteError(new ErrorRecord(new ItemNotFoundException($"There is no debugging facility named '{n}'. Known: {string.Join(", ", DebugCapabilities.Names)}."),
                    "DebugCapabilityNotFound", ErrorCategory.ObjectNotFound, n));
            foreach (string m in matches)
                if (seen.Add(m)) WriteObject(probes.Probe(m));
        }
    }
}
