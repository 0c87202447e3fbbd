using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace KernelDebug.PowerShell.Bpf;

/// <summary>Completes whole-disk names from /sys/block.</summary>
public sealed class DiskNameCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var pattern = new WildcardPattern((wordToComplete.Trim('\'', '"')) + "*", WildcardOptions.IgnoreCase);
        return KernelDebug.Core.Sysfs.BlockDevices.ReadDisks(KernelDebug.Core.KernelRoot.Live).Where(d => pattern.IsMatch(d.Name))
            .Select(d => new CompletionResult(d.Name, d.Name, CompletionResultType.ParameterValue, $"{d.Name} ({d.Major}:{d.Minor})"));
    }
}
