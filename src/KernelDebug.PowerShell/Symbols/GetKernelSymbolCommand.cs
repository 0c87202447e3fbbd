using System.Management.Automation;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Symbols;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Symbols;

/// <summary>
/// <para type="synopsis">Gets kernel symbols from /proc/kallsyms by name, or resolves addresses to function+offset/size [module].</para>
/// <para type="description">Get-KernelSymbol loads the kernel's symbol table once (cached for a minute on the live system, since modules come and go) and either lists the symbols whose names match -Name (wildcards), or resolves each -Address to the symbol that contains it, as the kernel's %pS prints it. Sizes are the distance to the next symbol, because kallsyms records none. When kernel.kptr_restrict hides the addresses (all zero), it fails with KernelSymbolAddressesHidden and the remedy. This is the same table Get-KernelOops, Get-BlockedTask and the BPF tools use to symbolize stacks.</para>
/// </summary>
/// <example>
///   <code>Get-KernelSymbol -Name 'tcp_v4_*' | Select-Object -First 5</code>
///   <para>Lists symbols whose names start with tcp_v4_.</para>
/// </example>
/// <example>
///   <code>Get-KernelSymbol -Address 0xffffffff81234567</code>
///   <para>Resolves an address from a log or a BPF stack to function+offset/size.</para>
/// </example>
/// <example>
///   <code>Get-KernelSymbol -Name * -Module ext4 | Measure-Object</code>
///   <para>Counts the symbols of the ext4 module.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "KernelSymbol", DefaultParameterSetName = "Name")]
[OutputType(typeof(KernelSymbol), ParameterSetName = ["Name"])]
[OutputType(typeof(SymbolLocation), ParameterSetName = ["Address"])]
public sealed class GetKernelSymbolCommand : KernelReaderCmdlet
{
    private KernelSymbolTable? _table;

    /// <summary>
    /// <para type="description">Symbol names to find; wildcards allowed.</para>
    /// </summary>
    [Parameter(ParameterSetName = "Name", Position = 0, Mandatory = true, ValueFromPipeline = true)]
    [SupportsWildcards]
    public string[] Name { get; set; } = [];

    /// <summary>
    /// <para type="description">Addresses to resolve (e.g. 0xffffffff81234567). Accepts pipeline input by the property name Address.</para>
    /// </summary>
    [Parameter(ParameterSetName = "Address", Mandatory = true, ValueFromPipelineByPropertyName = true)]
    public ulong[] Address { get; set; } = [];

    /// <summary>
    /// <para type="description">Only symbols of this module (wildcards allowed); 'vmlinux' selects the core kernel.</para>
    /// </summary>
    [Parameter(ParameterSetName = "Name")]
    [SupportsWildcards]
    public string? Module { get; set; }

    /// <summary>
    /// <para type="description">Only code symbols (types T, t, W, w).</para>
    /// </summary>
    [Parameter(ParameterSetName = "Name")]
    public SwitchParameter FunctionOnly { get; set; }

    /// <inheritdoc />
    protected override void Begin()
    {
        var ctx = new ParseContext(KernelRoot.Resolve("proc/kallsyms"));
        _table = KernelSymbolTable.Load(KernelRoot, ctx);
        WriteIssues(ctx);
    }

    /// <inheritdoc />
    protected override void Process()
    {
        if (ParameterSetName == "Address")
        {
            foreach (var a in Address)
            {
                if (_table!.Resolve(a) is { } loc) WriteObject(loc);
                else WriteError(new ErrorRecord(new ArgumentException($"0x{a:x} is not inside any kernel symbol."),
                    "KernelSymbolNotFound", ErrorCategory.ObjectNotFound, a));
            }
            return;
        }
        var patterns = Name.Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToArray();
        var module = Module is null ? null : new WildcardPattern(Module, WildcardOptions.IgnoreCase);
        bool any = false;
        foreach (var s in _table!.Find(n => patterns.Any(p => p.IsMatch(n))))
        {
            if (FunctionOnly && !s.IsFunction) continue;
            if (module is not null && !module.IsMatch(s.Module ?? "vmlinux")) continue;
            any = true;
            WriteObject(s);
        }
        if (!any && !Name.Any(WildcardPattern.ContainsWildcardCharacters))
            WriteError(new ErrorRecord(new ArgumentException($"No kernel symbol named '{string.Join("', '", Name)}'."),
                "KernelSymbolNotFound", ErrorCategory.ObjectNotFound, Name));
    }
}
