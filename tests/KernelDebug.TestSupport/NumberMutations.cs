using System.Text.RegularExpressions;

namespace KernelDebug.TestSupport;

/// <summary>
/// Variants of a good input where one numeric token is replaced by a value past the range of every type a parser
/// could store it in, a negative number, a boundary value, or something that is no number at all.
/// Deterministic: the same input always gives the same mutations.
/// </summary>
public static partial class NumberMutations
{
    /// <summary>Past <see cref="ulong"/>, <see cref="long"/> and any integer type: a parser must reject them with a warning.</summary>
    public static readonly string[] Huge = ["99999999999999999999999", "18446744073709551616", "1e30", "340282366920938463463374607431768211456"];

    /// <summary>Negative values, one of them below <see cref="long.MinValue"/>.</summary>
    public static readonly string[] Negative = ["-1", "-9223372036854775809", "-99999999999999999999999", "-2147483649"];

    /// <summary>No number at all (NaN and Infinity do parse as doubles, which is the point).</summary>
    public static readonly string[] NonNumeric = ["x7", "NaN", "Infinity", "0x", "5-", "1.2.3"];

    /// <summary>Values that fit the wider types but not the narrower ones, or overflow when scaled (kB × 1024, seconds → ticks).</summary>
    public static readonly string[] Boundary = ["9223372036854775807", "18446744073709551615", "4294967296", "2147483648", "922337203685477"];

    /// <summary>Decimal numbers with an optional fraction, 0x hex, and bare hex words of 8+ digits (kallsyms addresses), standing as a token of their own (not inside a name like cpu0).</summary>
    [GeneratedRegex(@"(?<![\w.])(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)?|(?=[0-9a-f]*\d)[0-9a-f]{8,})(?![\w.])")]
    private static partial Regex NumberToken();

    /// <summary>One mutated input.</summary>
    /// <param name="Text">The whole input with one token replaced.</param>
    /// <param name="Original">The token that was replaced.</param>
    /// <param name="Replacement">What replaced it.</param>
    /// <param name="LineNumber">1-based line of the token.</param>
    /// <param name="MustBeRejected">True when no integer type can hold the replacement as written: if the parser's output changes without holding it, it was rejected and a warning must say so.</param>
    public sealed record Mutation(string Text, string Original, string Replacement, int LineNumber, bool MustBeRejected)
    {
        /// <inheritdoc />
        public override string ToString() => $"line {LineNumber}: '{Original}' -> '{Replacement}'";
    }

    /// <summary>How many numeric tokens the input has.</summary>
    public static int CountTokens(string text) => NumberToken().Count(text);

    /// <summary>
    /// Up to <paramref name="maxTokens"/> tokens (all of them when fewer; else a sample fixed by <paramref name="seed"/>),
    /// each replaced in turn by one huge, one negative, one non-numeric and one boundary value (rotating through the lists).
    /// </summary>
    public static IEnumerable<Mutation> Of(string text, int seed, int maxTokens = 60)
    {
        var matches = NumberToken().Matches(text).ToList();
        if (matches.Count > maxTokens)
        {
            var rng = new Random(seed);
            matches = matches.OrderBy(_ => rng.Next()).Take(maxTokens).OrderBy(m => m.Index).ToList();
        }
        int k = seed & 0xFF;
        foreach (var m in matches)
        {
            int line = 1 + text.AsSpan(0, m.Index).Count('\n');
            foreach (var (list, reject) in new[] { (Huge, true), (Negative, false), (NonNumeric, true), (Boundary, false) })
            {
                string r = list[k++ % list.Length];
                // "1e30", NaN and Infinity are valid doubles: only integer fields must reject them, so no warning is demanded.
                bool mustReject = reject && r is not ("1e30" or "NaN" or "Infinity");
                yield return new Mutation(string.Concat(text.AsSpan(0, m.Index), r, text.AsSpan(m.Index + m.Length)), m.Value, r, line, mustReject);
            }
        }
    }

    /// <summary>Every numeric token of the input replaced by <paramref name="replacement"/> (for one-value files and whole-root runs).</summary>
    public static string ReplaceAll(string text, string replacement) => NumberToken().Replace(text, replacement);
}
