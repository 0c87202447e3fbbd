using System.Management.Automation;
using KernelDebug.Core.Procfs;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Inventory;

/// <summary>
/// <para type="synopsis">Gets kernel tunables from /proc/sys as records with dotted names, values and whether they are writable.</para>
/// <para type="description">Get-KernelSysctl reads /proc/sys and returns one SysctlEntry per tunable: Name in the dotted form sysctl uses (kernel.hung_task_timeout_secs, net.ipv4.ip_forward), Value as the kernel prints it (tabs separate multi-value entries such as kernel.printk), and Writable (whether root may change it). -Name takes dotted names with wildcards; only matching files are read. Entries that cannot be read (write-only ones such as vm.drop_caches, or ones the kernel refuses) are skipped without errors; -Verbose names them. It never changes a value: setting sysctls is out of scope. With -Root it reads a snapshot.</para>
/// </summary>
/// <example>
///   <code>Get-KernelSysctl kernel.hung_task*, kernel.panic_on_oops, kernel.softlockup_panic</code>
///   <para>Shows how the kernel reacts to hung tasks, oopses and soft lockups.</para>
/// </example>
/// <example>
///   <code>Compare-Object (Get-KernelSysctl -Root ./before) (Get-KernelSysctl) -Property Name, Value</code>
///   <para>Lists the tunables that changed since a snapshot was taken.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "KernelSysctl")]
[OutputType(typeof(SysctlEntry))]
public sealed class GetKernelSysctlCommand : KernelReaderCmdlet
{
    /// <summary>
    /// <para type="description">Dotted sysctl names to return, with wildcards (kernel.*, *.rp_filter). All when omitted.</para>
    /// </summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(SysctlNameCompleter))]
    public string[]? Name { get; set; }

    /// <inheritdoc />
    protected override void Process()
    {
        if (Name is null || Name.Length == 0)
        {
            foreach (var e in SysctlReader.Read(KernelRoot, null, Skipped)) WriteObject(e);
            return;
        }
        var exact = Name.Where(n => !WildcardPattern.ContainsWildcardCharacters(n)).ToArray();
        var patterns = Name.Where(WildcardPattern.ContainsWildcardCharacters).Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToArray();
        var found = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (patterns.Length > 0)
            foreach (var e in SysctlReader.Read(KernelRoot, n => patterns.Any(p => p.IsMatch(n)), Skipped))
                if (found.Add(e.Name)) WriteObject(e);
        foreach (string n in exact)
        {
            if (found.Contains(n)) continue;
            if (SysctlReader.TryGet(KernelRoot, n) is { } e) { found.Add(e.Name); WriteObject(e); }
            else WriteError(new ErrorRecord(new ItemNotFoundException($"There is no readable sysctl '{n}' ({KernelRoot.Resolve("proc/sys/" + SysctlReader.FromDotted(n))})."),
                "SysctlNotFound", ErrorCategory.ObjectNotFound, n));
        }
    }

    private void Skipped(string name, string why) => WriteVerbose($"skipped {name}: {why}");
}
