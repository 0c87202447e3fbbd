using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using KernelDebug.Core;
using KernelDebug.Core.Inventory;
using KernelDebug.Core.Procfs;

namespace KernelDebug.PowerShell.Inventory;

/// <summary>Shared matching of a typed word against names the kernel lists.</summary>
internal static class Completion
{
    public static IEnumerable<CompletionResult> Match(IEnumerable<string> names, string word)
    {
        var pattern = new WildcardPattern((word ?? "").Trim('\'', '"') + "*", WildcardOptions.IgnoreCase);
        return names.Where(pattern.IsMatch).Take(500).Select(n => new CompletionResult(n, n, CompletionResultType.ParameterValue, n));
    }
}

/// <summary>Completes debugging facility names for Get-KernelDebugCapability -Name.</summary>
public sealed class DebugCapabilityNameCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) => Completion.Match(DebugCapabilities.Names, wordToComplete);
}

/// <summary>Completes configuration option names of the running kernel for Get-KernelConfig -Name.</summary>
public sealed class KernelConfigNameCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var config = KernelConfigReader.TryRead(KernelRoot.Live);
        if (config is null) return [];
        string w = wordToComplete ?? "";
        if (!w.StartsWith("CONFIG_", StringComparison.OrdinalIgnoreCase)) w = "CONFIG_" + w;
        return Completion.Match(config.Options.Select(o => o.Name), w);
    }
}

/// <summary>Completes sysctl names (dotted) of the running kernel for Get-KernelSysctl -Name.</summary>
public sealed class SysctlNameCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string top = KernelRoot.Live.Resolve("proc/sys");
        if (!Directory.Exists(top)) return [];
        var opts = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint };
        var names = Directory.EnumerateFiles(top, "*", opts).Select(f => SysctlReader.ToDotted(Path.GetRelativePath(top, f)))
            .Where(n => !n.StartsWith("fs.binfmt_misc.", StringComparison.Ordinal)).Order(StringComparer.Ordinal);
        return Completion.Match(names, wordToComplete);
    }
}
