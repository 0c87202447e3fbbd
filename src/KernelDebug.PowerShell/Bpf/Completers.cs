using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using KernelDebug.Core.Symbols;

namespace KernelDebug.PowerShell.Bpf;

/// <summary>Completes system call names from this architecture's table.</summary>
public sealed class SyscallNameCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var pattern = new WildcardPattern((wordToComplete.Trim('\'', '"')) + "*", WildcardOptions.IgnoreCase);
        return SyscallTable.X86_64.All.Where(s => pattern.IsMatch(s.Name)).OrderBy(s => s.Name, StringComparer.Ordinal)
            .Select(s => new CompletionResult(s.Name, s.Name, CompletionResultType.ParameterValue, $"{s.Name} ({s.Id})"));
    }
}

/// <summary>Completes errno names (ENOENT, EACCES, ...).</summary>
public sealed class ErrnoNameCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var pattern = new WildcardPattern((wordToComplete.Trim('\'', '"')) + "*", WildcardOptions.IgnoreCase);
        return ErrnoNames.Names.Where(n => pattern.IsMatch(n)).Select(n => new CompletionResult(n, n, CompletionResultType.ParameterValue, n));
    }
}
