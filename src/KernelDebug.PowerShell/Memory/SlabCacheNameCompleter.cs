using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using KernelDebug.Core;
using KernelDebug.Core.Sysfs;

namespace KernelDebug.PowerShell.Memory;

/// <summary>Completes slab cache names from the live kernel (<c>/sys/kernel/slab</c>, names and aliases; readable without root).</summary>
public sealed class SlabCacheNameCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var root = fakeBoundParameters["Root"] is string r && Directory.Exists(r) ? new KernelRoot(r) : KernelRoot.Live;
        var pattern = WildcardPattern.Get((wordToComplete ?? "").Trim('\'', '"') + "*", WildcardOptions.IgnoreCase);
        return SlabSysfs.Names(root).Where(pattern.IsMatch).Order(StringComparer.Ordinal)
            .Select(n => new CompletionResult(n, n, CompletionResultType.ParameterValue, n));
    }
}
