using System.Text.RegularExpressions;

namespace KernelDebug.Core.Oops;

/// <summary>
/// Regex macros of the oops tables, expanded once when the tables are built:
/// <c>{{ADDR}}</c> a hex address, <c>{{PC}}</c> a bracketed program counter, <c>{{FUNC}}</c> a function name
/// (captured as <c>func</c>) followed by <c>.</c> or <c>+</c>, <c>{{SRC}}</c> a <c>file.c:123</c> (captured as <c>src</c>).
/// Only named groups capture (ExplicitCapture), so templates refer to names, never to positions.
/// </summary>
internal static class OopsRegex
{
    /// <summary>Guards every match against pathological input: a report is small, a second is plenty.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    public static string Expand(string pattern) => pattern
        .Replace("{{ADDR}}", "0x[0-9a-f]+")
        .Replace("{{PC}}", @"\[<?(?:0x)?[0-9a-f]+>?\]")
        .Replace("{{FUNC}}", @"(?<func>[a-zA-Z0-9_]+)(?:\.|\+)")
        .Replace("{{SRC}}", @"(?<src>[a-zA-Z0-9_/.\-]+\.[a-z]+:[0-9]+)");

    // Interpreted: these run on report text only (rare), so construction cost matters more than match speed.
    public static Regex Compile(string pattern) =>
        new(Expand(pattern), RegexOptions.ExplicitCapture | RegexOptions.CultureInvariant, Timeout);
}
