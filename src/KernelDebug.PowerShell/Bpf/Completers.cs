using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using KernelDebug.Core;
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

/// <summary>Completes packet drop reasons from this kernel's enum skb_drop_reason (BTF).</summary>
public sealed class DropReasonCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var pattern = new WildcardPattern(wordToComplete.Trim('\'', '"') + "*", WildcardOptions.IgnoreCase);
        return SkbDropReasons.Load(KernelRoot.Live).All
            .Where(r => pattern.IsMatch(r.Name) || pattern.IsMatch(SkbDropReasons.Prefix + r.Name))
            .OrderBy(r => r.Name, StringComparer.Ordinal)
            .Select(r => new CompletionResult(r.Name, r.Name, CompletionResultType.ParameterValue, $"{SkbDropReasons.Prefix}{r.Name} ({r.Code})"));
    }
}
