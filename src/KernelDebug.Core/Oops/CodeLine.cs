using System.Globalization;

namespace KernelDebug.Core.Oops;

/// <summary>
/// The bytes of a <c>Code:</c> line: x86 prints bytes (<c>48 8b 43 10 &lt;48&gt; 8b 00</c>), arm64 and arm 32-bit
/// words (<c>f9400d01 (f9400674)</c>), Thumb 16-bit halfwords. The marked unit is the faulting (<c>&lt;&gt;</c>)
/// or trapping (<c>()</c>) instruction.
/// </summary>
internal sealed record CodeLine(byte[] Bytes, int UnitBytes, int? MarkerOffset, char? Marker, bool Truncated)
{
    /// <summary>Parses the text after <c>Code:</c>; null when it holds no bytes (<c>Bad RIP value.</c>, <c>Unable to access opcode bytes</c>).</summary>
    public static CodeLine? Parse(ReadOnlySpan<char> text)
    {
        int code = text.IndexOf("Code:");
        if (code >= 0) text = text[(code + 5)..];
        var bytes = new List<byte>();
        int unit = 0;
        int? marker = null;
        char? kind = null;
        bool truncated = false;
        foreach (var range in text.Split(' '))
        {
            var tok = text[range].Trim();
            if (tok.IsEmpty) continue;
            char? open = null;
            if (tok.Length > 2 && ((tok[0] == '<' && tok[^1] == '>') || (tok[0] == '(' && tok[^1] == ')')))
            {
                open = tok[0];
                tok = tok[1..^1];
            }
            if (tok.Length is not (2 or 4 or 8) || (unit != 0 && tok.Length != unit) ||
                !ulong.TryParse(tok, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong v))
            {
                // A console line cut mid-token, or text after the bytes: keep what came before.
                truncated = bytes.Count > 0;
                break;
            }
            unit = tok.Length;
            if (open is not null && marker is null) { marker = bytes.Count; kind = open; }
            int n = unit / 2;
            // Words are printed as numbers; memory holds them little-endian.
            for (int k = 0; k < n; k++) bytes.Add((byte)(v >> (8 * k)));
        }
        if (bytes.Count == 0) return null;
        return new CodeLine(bytes.ToArray(), unit / 2, marker, kind, truncated);
    }
}
