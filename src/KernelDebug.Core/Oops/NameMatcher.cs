using System.Buffers;
using System.Text.RegularExpressions;

namespace KernelDebug.Core.Oops;

/// <summary>
/// Matches a function name against a list of skip patterns (regex syntax, matched anywhere). Plain words,
/// <c>^word</c>, <c>word$</c> and <c>^word$</c> are checked as strings (one vectorised search for all the
/// words); only the few real regexes go to the regex engine. A 250-way regex alternation costs ~100 µs per
/// name; this costs well under one.
/// </summary>
internal sealed class NameMatcher
{
    private readonly SearchValues<string>? _anywhere;
    private readonly string[] _prefixes;
    private readonly string[] _suffixes;
    private readonly HashSet<string> _exact;
    private readonly Regex? _rest;

    private readonly NameMatcher? _base;

    /// <summary>A matcher for <paramref name="patterns"/> on top of <paramref name="baseMatcher"/> (shared, built once).</summary>
    public NameMatcher(IEnumerable<string> patterns, NameMatcher? baseMatcher = null, bool compiled = false)
    {
        _base = baseMatcher;
        var anywhere = new List<string>();
        var prefixes = new List<string>();
        var suffixes = new List<string>();
        _exact = new HashSet<string>(StringComparer.Ordinal);
        var rest = new List<string>();
        foreach (var pattern in patterns)
        {
            foreach (var alt in SplitTopLevel(pattern))
            {
                bool start = alt.StartsWith('^'), end = alt.EndsWith('$') && !alt.EndsWith("\\$");
                string body = alt[(start ? 1 : 0)..(end ? alt.Length - 1 : alt.Length)];
                string? literal = Literal(body);
                if (literal is null || literal.Length == 0) rest.Add(alt);
                else if (start && end) _exact.Add(literal);
                else if (start) prefixes.Add(literal);
                else if (end) suffixes.Add(literal);
                else anywhere.Add(literal);
            }
        }
        _anywhere = anywhere.Count > 0 ? SearchValues.Create(anywhere.ToArray(), StringComparison.Ordinal) : null;
        _prefixes = prefixes.ToArray();
        _suffixes = suffixes.ToArray();
        _rest = rest.Count > 0
            ? new Regex(string.Join("|", rest), RegexOptions.CultureInvariant | (compiled ? RegexOptions.Compiled : RegexOptions.None), OopsRegex.Timeout)
            : null;
    }

    public bool IsMatch(string name)
    {
        if (_base is not null && _base.IsMatch(name)) return true;
        if (_exact.Contains(name)) return true;
        if (_anywhere is not null && name.AsSpan().IndexOfAny(_anywhere) >= 0) return true;
        foreach (var p in _prefixes) if (name.StartsWith(p, StringComparison.Ordinal)) return true;
        foreach (var s in _suffixes) if (name.EndsWith(s, StringComparison.Ordinal)) return true;
        return _rest is not null && _rest.IsMatch(name);
    }

    // "a|b(c|d)" → "a", "b(c|d)".
    private static IEnumerable<string> SplitTopLevel(string pattern)
    {
        int depth = 0, start = 0;
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            if (c == '\\') { i++; continue; }
            if (c == '(' ) depth++;
            else if (c == ')') depth--;
            else if (c == '|' && depth == 0) { yield return pattern[start..i]; start = i + 1; }
        }
        yield return pattern[start..];
    }

    // The text itself when the pattern has no regex syntax (escaped characters allowed), else null.
    private static string? Literal(string body)
    {
        var sb = new System.Text.StringBuilder(body.Length);
        for (int i = 0; i < body.Length; i++)
        {
            char c = body[i];
            if (c == '\\')
            {
                if (i + 1 >= body.Length || char.IsAsciiLetterOrDigit(body[i + 1])) return null;
                sb.Append(body[++i]);
            }
            else if ("^$()[]{}|?*+.".Contains(c)) return null;
            else sb.Append(c);
        }
        return sb.ToString();
    }
}
