using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using KernelDebug.Core;

namespace KernelDebug.PowerShell.Kmsg;

/// <summary>Completes -Subsystem with the subsystems the kernel lists: the buses in /sys/bus and the classes in /sys/class.</summary>
internal sealed class SubsystemCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var root = KernelRoot.Live;
        var pattern = new WildcardPattern((wordToComplete ?? "").Trim('\'', '"') + "*", WildcardOptions.IgnoreCase);
        return root.EnumerateEntries("sys/bus").Concat(root.EnumerateEntries("sys/class"))
            .Distinct(StringComparer.Ordinal)
            .Where(pattern.IsMatch)
            .Order(StringComparer.Ordinal)
            .Select(n => new CompletionResult(n, n, CompletionResultType.ParameterValue, n));
    }
}
