using System.Management.Automation;
using KernelDebug.Core.Inventory;
using KernelDebug.Core.Parsing;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Inventory;

/// <summary>
/// <para type="synopsis">Gets the kernel's build configuration options (CONFIG_*), from /proc/config.gz or /boot/config-&lt;release&gt;.</para>
/// <para type="description">Get-KernelConfig reads the configuration the running kernel was built with: /proc/config.gz when the kernel has CONFIG_IKCONFIG_PROC, otherwise /boot/config-&lt;release&gt; from the distribution's kernel package. Each option becomes a KernelConfigOption record with its Name (CONFIG_ prefix included), Value ("y", "m", "n" for "is not set", the unquoted string, or the number), Kind (BuiltIn, Module, NotSet, String, Number) and Number. -Name takes wildcards, with or without the CONFIG_ prefix; an exact name that the configuration does not mention is an error. -Value returns only the values. When neither file exists, the error names CONFIG_IKCONFIG_PROC and the /boot file to install. With -Root it reads a snapshot's configuration.</para>
/// </summary>
/// <example>
///   <code>Get-KernelConfig -Name *KPROBE*, *BTF*</code>
///   <para>Shows whether kprobes and BTF were built into this kernel.</para>
/// </example>
/// <example>
///   <code>Get-KernelConfig HZ -Value</code>
///   <para>Returns the timer frequency the kernel was built with, as a plain value.</para>
/// </example>
/// <example>
///   <code>Compare-Object (Get-KernelConfig -Root ./web1) (Get-KernelConfig) -Property Name, Value</code>
///   <para>Lists the options that differ between a snapshot of another machine and this one.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "KernelConfig")]
[OutputType(typeof(KernelConfigOption), typeof(string))]
public sealed class GetKernelConfigCommand : KernelReaderCmdlet
{
    /// <summary>
    /// <para type="description">Option names to return, with wildcards; the CONFIG_ prefix may be left out. All options when omitted.</para>
    /// </summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(KernelConfigNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>
    /// <para type="description">Returns only the values (strings such as "y", "m", "n", "1000") instead of records.</para>
    /// </summary>
    [Parameter]
    public SwitchParameter Value { get; set; }

    private KernelConfig? _config;

    /// <inheritdoc />
    protected override void Begin()
    {
        var ctx = new ParseContext("config");
        _config = KernelConfigReader.Read(KernelRoot, ctx);
        WriteIssues(ctx);
    }

    /// <inheritdoc />
    protected override void Process()
    {
        if (Name is null || Name.Length == 0)
        {
            foreach (var o in _config!.Options) Emit(o);
            return;
        }
        foreach (string raw in Name)
        {
            string n = raw.StartsWith("CONFIG_", StringComparison.OrdinalIgnoreCase) || raw.StartsWith('*') ? raw : "CONFIG_" + raw;
            if (!WildcardPattern.ContainsWildcardCharacters(n))
            {
                if ((_config![n] ?? _config[n.ToUpperInvariant()]) is { } o) Emit(o);
                else WriteError(new ErrorRecord(new ItemNotFoundException($"The kernel configuration ({_config.Source}) does not mention {n}."),
                    "KernelConfigOptionNotFound", ErrorCategory.ObjectNotFound, n));
                continue;
            }
            var p = new WildcardPattern(n, WildcardOptions.IgnoreCase);
            foreach (var o in _config!.Options)
                if (p.IsMatch(o.Name)) Emit(o);
        }
    }

    private void Emit(KernelConfigOption o)
    {
        if (Value) WriteObject(o.Value); else WriteObject(o);
    }
}
