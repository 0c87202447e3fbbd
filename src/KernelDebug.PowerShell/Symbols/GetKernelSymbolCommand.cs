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
///   <para>Resolves an address from a log or a BPF stack to function+offset/size (quoting is not needed; ffffffff81234567 without 0x works too).</para>
/// </example>
/// <example>
///   <code>Get-KernelSymbol -Address 'do_sys_openat2+0x1a/0x40'</code>
///   <para>Turns a frame pasted from a crash report back into its address and symbol.</para>
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
    /// <para type="description">Addresses to resolve, as pasted from a log: 0xffffffff81234567, ffffffff81234567 (hex without 0x), an unquoted 0x literal, or a symbol with an offset (tcp_sendmsg+0x1a/0x40). Accepts pipeline input by the property name Address.</para>
    /// </summary>
    [Parameter(ParameterSetName = "Address", Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [KernelAddressTransformation]
    public KernelAddressText[] Address { get; set; } = [];

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
                if (a.ResolveIn(_table!) is { } addr && _table!.Resolve(addr) is { } loc) WriteObject(loc);
                else WriteError(new ErrorRecord(new ArgumentException(a.Address is null
                        ? $"No kernel symbol named '{a.Symbol!.Function}'{(a.Symbol.Module is null ? "" : $" in module {a.Symbol.Module}")}."
                        : $"{a} is not inside any kernel symbol."),
                    "KernelSymbolNotFound", ErrorCategory.ObjectNotFound, a.Text));
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
