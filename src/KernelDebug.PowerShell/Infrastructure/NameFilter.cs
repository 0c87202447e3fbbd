using System.Management.Automation;

namespace KernelDebug.PowerShell.Infrastructure;

/// <summary>
/// A -Name (or -CheckId, -Event...) filter with Get-Process's rule for names that match nothing: a name without
/// wildcards that matched nothing is a non-terminating ObjectNotFound error; a wildcard that matched nothing is silent.
/// The same rule in every cmdlet.
/// </summary>
internal sealed class NameFilter
{
    private readonly string[] _names;
    private readonly WildcardPattern[] _patterns;
    private readonly bool[] _matched;

    /// <summary>A filter for <paramref name="names"/>; null or empty accepts everything.</summary>
    public NameFilter(IEnumerable<string>? names)
    {
        _names = names?.ToArray() ?? [];
        _patterns = _names.Select(n => WildcardPattern.Get(n, WildcardOptions.IgnoreCase)).ToArray();
        _matched = new bool[_names.Length];
    }

    /// <summary>True when no names were given.</summary>
    public bool IsEmpty => _names.Length == 0;

    /// <summary>Whether any name matches one of <paramref name="candidates"/> (a name and its aliases); records which names matched.</summary>
    public bool IsMatch(params ReadOnlySpan<string?> candidates)
    {
        if (IsEmpty) return true;
        bool any = false;
        for (int i = 0; i < _patterns.Length; i++)
            foreach (var c in candidates)
                if (c is not null && _patterns[i].IsMatch(c)) { _matched[i] = true; any = true; break; }
        return any;
    }

    /// <summary>Writes an ObjectNotFound error (<paramref name="errorId"/>) for each non-wildcard name that matched nothing.</summary>
    /// <param name="what">What was looked for, e.g. "slab cache": the message reads "No slab cache named 'x'."</param>
    public void ReportUnmatched(Cmdlet cmdlet, string errorId, string what, string? remedy = null)
    {
        for (int i = 0; i < _names.Length; i++)
        {
            if (_matched[i] || WildcardPattern.ContainsWildcardCharacters(_names[i])) continue;
            var record = new ErrorRecord(new ItemNotFoundException($"No {what} named '{_names[i]}'."), errorId, ErrorCategory.ObjectNotFound, _names[i]);
            if (remedy is not null) record.ErrorDetails = new ErrorDetails($"No {what} named '{_names[i]}'. {remedy}") { RecommendedAction = remedy };
            cmdlet.WriteError(record);
        }
    }
}
