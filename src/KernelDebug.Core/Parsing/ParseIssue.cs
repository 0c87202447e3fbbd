namespace KernelDebug.Core.Parsing;

/// <summary>A line a parser could not understand: where it was and why. The rest of the input is still parsed.</summary>
/// <param name="Source">File or device the text came from.</param>
/// <param name="LineNumber">1-based line number, or 0 when the issue is about the whole input.</param>
/// <param name="Message">What was wrong.</param>
/// <param name="Text">The offending text (truncated to a readable length).</param>
public sealed record ParseIssue(string Source, int LineNumber, string Message, string? Text)
{
    /// <inheritdoc />
    public override string ToString() =>
        LineNumber > 0 ? $"{Source}:{LineNumber}: {Message}" + (Text is null ? "" : $": '{Text}'")
                       : $"{Source}: {Message}";
}

/// <summary>
/// Collects <see cref="ParseIssue"/>s while a pure parser runs. Parsers never throw on odd input;
/// they call <see cref="Warn"/> and go on.
/// </summary>
public sealed class ParseContext
{
    private const int MaxTextLength = 160;
    private readonly List<ParseIssue> _issues = new();

    /// <summary>Creates a context for text that came from <paramref name="source"/>.</summary>
    public ParseContext(string source) => Source = source;

    /// <summary>The file or device name used in issues.</summary>
    public string Source { get; set; }

    /// <summary>The issues found so far.</summary>
    public IReadOnlyList<ParseIssue> Issues => _issues;

    /// <summary>Records a problem on a line and continues.</summary>
    public void Warn(int lineNumber, string message, ReadOnlySpan<char> text = default) => Warn(Source, lineNumber, message, text);

    /// <summary>Records a problem in another file than <see cref="Source"/> (a reader that parses several files into one context).</summary>
    public void Warn(string source, int lineNumber, string message, ReadOnlySpan<char> text = default)
    {
        string? t = text.IsEmpty ? null : (text.Length > MaxTextLength ? text[..MaxTextLength].ToString() + "…" : text.ToString());
        _issues.Add(new ParseIssue(source, lineNumber, message, t));
    }

    /// <summary>Removes and returns the issues collected so far (streaming readers hand them out as they go).</summary>
    public IReadOnlyList<ParseIssue> Drain()
    {
        if (_issues.Count == 0) return Array.Empty<ParseIssue>();
        var copy = _issues.ToArray();
        _issues.Clear();
        return copy;
    }
}
