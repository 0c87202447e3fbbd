using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Language;
using KernelDebug.Core;
using KernelDebug.Core.Journal;
using KernelDebug.Core.Parsing;

namespace KernelDebug.PowerShell.Journal;

/// <summary>Completes -Boot with the boots of the journal the command will read (-Path, else -Root's): offsets and boot ids, newest first.</summary>
internal sealed class BootCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var location = new JournalLocation
        {
            Paths = fakeBoundParameters["Path"] switch
            {
                string s => [s],
                object[] a => a.Select(o => o?.ToString() ?? "").Where(s => s.Length > 0).ToArray(),
                _ => [],
            },
            Root = fakeBoundParameters["Root"] is string r && r != "/" ? new KernelRoot(Path.GetFullPath(r)) : KernelRoot.Live,
        };
        IReadOnlyList<JournalBootSpan> boots;
        try
        {
            using var reader = JournalReader.Open(location.Files(), new ParseContext("completion"));
            boots = reader.Boots();
        }
        catch (Exception) { yield break; }
        string word = (wordToComplete ?? "").Trim('\'', '"');
        for (int i = boots.Count - 1; i >= 0; i--)
        {
            var b = boots[i];
            string offset = (i - (boots.Count - 1)).ToString(CultureInfo.InvariantCulture);
            string tip = string.Create(CultureInfo.InvariantCulture, $"{offset} {b.BootId} {b.First.LocalDateTime:yyyy-MM-dd HH:mm:ss} .. {b.Last.LocalDateTime:yyyy-MM-dd HH:mm:ss}");
            if (offset.StartsWith(word, StringComparison.Ordinal)) yield return new CompletionResult(offset, tip, CompletionResultType.ParameterValue, tip);
            else if (word.Length > 0 && b.BootId.StartsWith(word, StringComparison.OrdinalIgnoreCase)) yield return new CompletionResult(b.BootId, tip, CompletionResultType.ParameterValue, tip);
        }
    }
}
