using System.Text;

namespace KernelDebug.Core.Oops;

/// <summary>
/// Readable names for the mangled symbols Rust (v0, <c>_R</c>) and C++ (Itanium, <c>_Z</c>) code leaves in kernel
/// stacks: only the path is kept (no parameters), so <c>_RNvMs3_NtCs1_11rust_binder7processNtB5_7Process10update_ref</c>
/// becomes <c>&lt;rust_binder::process::Process&gt;::update_ref</c>. Anything not understood is returned unchanged.
/// </summary>
internal static class SymbolDemangler
{
    public static string Demangle(string symbol)
    {
        try
        {
            if (symbol.StartsWith("_R", StringComparison.Ordinal)) return new RustV0(symbol[2..]).Run() ?? symbol;
            if (symbol.StartsWith("_Z", StringComparison.Ordinal)) return Itanium(symbol) ?? symbol;
        }
        catch (IndexOutOfRangeException) { }
        catch (ArgumentOutOfRangeException) { }
        catch (FormatException) { }
        catch (OverflowException) { }
        return symbol;
    }

    // _Z[N]<len><name>...[E]: the nested name only.
    private static string? Itanium(string s)
    {
        int p = 2;
        bool nested = p < s.Length && s[p] == 'N';
        if (nested) p++;
        var parts = new List<string>();
        while (p < s.Length && char.IsAsciiDigit(s[p]))
        {
            int len = 0;
            while (p < s.Length && char.IsAsciiDigit(s[p])) len = len * 10 + (s[p++] - '0');
            if (len <= 0 || p + len > s.Length) return null;
            parts.Add(s.Substring(p, len));
            p += len;
            if (!nested) break;
        }
        return parts.Count == 0 ? null : string.Join("::", parts);
    }

    private sealed class RustV0(string s)
    {
        private int _p;
        private int _depth;

        public string? Run()
        {
            string path = Path();
            return path.Length == 0 ? null : path;
        }

        private char Next() => s[_p++];
        private char Peek() => _p < s.Length ? s[_p] : '\0';

        private string Path()
        {
            if (++_depth > 64) throw new FormatException("too deep");
            try
            {
                char c = Next();
                switch (c)
                {
                    case 'C': return Ident();
                    case 'N':
                    {
                        Next();   // namespace: v value, t type, C closure ...
                        string prefix = Path();
                        string name = Ident();
                        return name.Length == 0 ? prefix : prefix + "::" + name;
                    }
                    case 'M': { ImplPath(); return "<" + Type() + ">"; }
                    case 'X': { ImplPath(); string t = Type(); return "<" + t + " as " + Path() + ">"; }
                    case 'Y': { string t = Type(); return "<" + t + " as " + Path() + ">"; }
                    case 'I':
                    {
                        string prefix = Path();
                        var args = new List<string>();
                        while (Peek() != 'E') args.Add(GenericArg());
                        Next();
                        return prefix + "::<" + string.Join(", ", args) + ">";
                    }
                    case 'B': return Backref(Path);
                    default: throw new FormatException("path");
                }
            }
            finally { _depth--; }
        }

        private void ImplPath()
        {
            if (Peek() == 's') Base62();
            Path();
        }

        private string GenericArg()
        {
            if (Peek() == 'L') { Next(); Base62(); return "'_"; }
            if (Peek() == 'K') { Next(); return Const(); }
            return Type();
        }

        private string Const()
        {
            if (Peek() == 'p') { Next(); return "_"; }
            if (Peek() == 'B') { Next(); return Backref(Const); }
            Type();
            var sb = new StringBuilder();
            if (Peek() == 'n') { Next(); sb.Append('-'); }
            while (Peek() != '_') sb.Append(Next());
            Next();
            return sb.ToString();
        }

        private string Type()
        {
            char c = Peek();
            string? basic = c switch
            {
                'a' => "i8", 'b' => "bool", 'c' => "char", 'd' => "f64", 'e' => "str", 'f' => "f32", 'h' => "u8", 'i' => "isize",
                'j' => "usize", 'l' => "i32", 'm' => "u32", 'n' => "i128", 'o' => "u128", 's' => "i16", 't' => "u16", 'u' => "()",
                'v' => "...", 'x' => "i64", 'y' => "u64", 'z' => "!", 'p' => "_", _ => null,
            };
            if (basic is not null) { Next(); return basic; }
            switch (c)
            {
                case 'R': case 'Q':
                    Next();
                    if (Peek() == 'L') { Next(); Base62(); }
                    return (c == 'Q' ? "&mut " : "&") + Type();
                case 'P': Next(); return "*const " + Type();
                case 'O': Next(); return "*mut " + Type();
                case 'A': { Next(); string t = Type(); return "[" + t + "; " + Const() + "]"; }
                case 'S': Next(); return "[" + Type() + "]";
                case 'T':
                {
                    Next();
                    var items = new List<string>();
                    while (Peek() != 'E') items.Add(Type());
                    Next();
                    return "(" + string.Join(", ", items) + ")";
                }
                case 'B': Next(); return Backref(Type);
                default: return Path();
            }
        }

        private string Backref(Func<string> parse)
        {
            int target = (int)Base62();
            if (target >= _p) throw new FormatException("forward backref");
            int save = _p;
            _p = target;
            try { return parse(); }
            finally { _p = save; }
        }

        // <base-62-number>: "_" is 0, else digits then "_" meaning value + 1.
        private long Base62()
        {
            if (Peek() == '_') { Next(); return 0; }
            long v = 0;
            char c;
            while ((c = Next()) != '_')
            {
                int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'z' ? c - 'a' + 10 : c >= 'A' && c <= 'Z' ? c - 'A' + 36 : throw new FormatException("base62");
                v = unchecked(v * 62 + d);   // disambiguators are hashes: only backrefs need the value
            }
            return v + 1;
        }

        private string Ident()
        {
            if (Peek() == 's') { Next(); Base62(); }
            bool puny = Peek() == 'u';
            if (puny) Next();
            int len = 0;
            if (!char.IsAsciiDigit(Peek())) throw new FormatException("ident");
            while (char.IsAsciiDigit(Peek())) len = checked(len * 10 + (Next() - '0'));
            if (Peek() == '_') Next();
            string name = s.Substring(_p, len);
            _p += len;
            return name;
        }
    }
}
