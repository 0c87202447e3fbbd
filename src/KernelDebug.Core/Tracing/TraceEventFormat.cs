using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Tracing;

/// <summary>How a field's bytes become a value.</summary>
public enum TraceFieldKind
{
    /// <summary>An integer of 1, 2, 4 or 8 bytes, signed or unsigned by the format.</summary>
    Integer,
    /// <summary>A pointer (type ends in <c>*</c>): an unsigned address.</summary>
    Pointer,
    /// <summary>A fixed <c>char name[N]</c> array: a NUL-terminated string.</summary>
    String,
    /// <summary>A fixed array of integers (<c>unsigned long args[6]</c>).</summary>
    Array,
    /// <summary><c>__data_loc char[]</c> (or <c>__rel_loc</c>): a string stored after the fixed fields.</summary>
    DynamicString,
    /// <summary><c>__data_loc</c> of another element type: an array stored after the fixed fields.</summary>
    DynamicArray,
    /// <summary>A trailing array of size 0 (<c>unsigned long args[]</c>): the rest of the record.</summary>
    TrailingArray,
    /// <summary>Anything else: the raw bytes.</summary>
    Bytes,
}

/// <summary>One <c>field:</c> line of an event's <c>format</c> file.</summary>
/// <param name="Name">Field name (<c>filename</c>).</param>
/// <param name="Type">C type as declared, without the name and array suffix (<c>__data_loc char[]</c>, <c>unsigned long</c>).</param>
/// <param name="Offset">Byte offset in the record.</param>
/// <param name="Size">Size in bytes (for <c>__data_loc</c> the 4-byte locator).</param>
/// <param name="IsSigned">The format's <c>signed:</c> flag.</param>
/// <param name="ArrayLength">Elements of a fixed array, 0 for a trailing or dynamic array, null for a scalar.</param>
/// <param name="Kind">How the decoder reads it.</param>
/// <param name="ElementSize">Bytes per element for arrays and integers.</param>
/// <param name="IsCommon">One of the <c>common_</c> header fields every event has.</param>
public sealed record TraceEventField(string Name, string Type, int Offset, int Size, bool IsSigned, int? ArrayLength,
    TraceFieldKind Kind, int ElementSize, bool IsCommon)
{
    /// <summary>"unsigned long args[6] @16+48".</summary>
    public override string ToString() => $"{Type} {Name}{(ArrayLength is int n ? $"[{(n > 0 ? n : "")}]" : "")} @{Offset}+{Size}";
}

/// <summary>An event's <c>format</c> file: its id, fields and print format.</summary>
/// <param name="System">Subsystem (<c>sched</c>).</param>
/// <param name="Name">Event name (<c>sched_switch</c>).</param>
/// <param name="Id">Numeric id, the record's <c>common_type</c>.</param>
/// <param name="Fields">Every field in offset order, common fields first.</param>
/// <param name="PrintFormat">The <c>print fmt:</c> line (format string and arguments), as the kernel prints it.</param>
public sealed record TraceEventFormat(string System, string Name, int Id, IReadOnlyList<TraceEventField> Fields, string? PrintFormat)
{
    /// <summary><c>system:event</c>, the form set_event and -Event use.</summary>
    public string FullName => System + ":" + Name;

    /// <summary>Every field in offset order, common fields first (prints as name;name;... in CSV).</summary>
    public IReadOnlyList<TraceEventField> Fields { get; init => field = Flat.List(value); } = Flat.List(Fields);

    /// <summary>The event's own fields (without <c>common_</c>).</summary>
    public IEnumerable<TraceEventField> EventFields => Flat.List(Fields.Where(f => !f.IsCommon));

    /// <inheritdoc />
    public override string ToString() => FullName;
}

/// <summary>Parses an event's <c>format</c> file (<c>events/&lt;system&gt;/&lt;event&gt;/format</c>).</summary>
public static class TraceEventFormatParser
{
    /// <summary>Parses a format file; <paramref name="system"/> comes from the directory (the file does not name it).
    /// Returns null when the file has no name or id; bad field lines are warned about and skipped.</summary>
    public static TraceEventFormat? Parse(ReadOnlySpan<char> text, string system, ParseContext ctx, int longSize = 8)
    {
        string? name = null;
        int? id = null;
        string? print = null;
        var fields = new List<TraceEventField>();
        int n = 0;
        bool inPrint = false;
        foreach (var raw in text.EnumerateLines())
        {
            n++;
            // A print fmt may run over several lines (its string holds a newline); everything after it belongs to it.
            if (inPrint) { if (!raw.IsEmpty) print += "\n" + raw.ToString(); continue; }
            var line = raw.Trim();
            if (line.IsEmpty || line.SequenceEqual("format:")) continue;
            if (line.StartsWith("name:")) name = line[5..].Trim().ToString();
            else if (line.StartsWith("ID:"))
            {
                if (Fields.TryNonNegativeInt(line[3..].Trim(), out int i)) id = i;
                else ctx.Warn(n, "event id is not a number", line);
            }
            else if (line.StartsWith("print fmt:")) { print = line[10..].Trim().ToString(); inPrint = true; }
            else if (line.StartsWith("field:"))
            {
                var f = ParseField(line, longSize);
                if (f is null) ctx.Warn(n, "field line not understood", line);
                else fields.Add(f);
            }
            else ctx.Warn(n, "unexpected line in event format", line);
        }
        if (name is null || id is null)
        {
            ctx.Warn(0, "event format has no name or ID");
            return null;
        }
        fields.Sort((a, b) => a.Offset.CompareTo(b.Offset));
        return new TraceEventFormat(system, name, id.Value, fields, print);
    }

    /// <summary>Parses one <c>field:TYPE NAME;	offset:N;	size:N;	signed:N;</c> line (also used by header_page).</summary>
    public static TraceEventField? ParseField(ReadOnlySpan<char> line, int longSize = 8)
    {
        string? decl = null;
        int? offset = null, size = null;
        bool signed = false;
        foreach (var r in line.Split(';'))
        {
            var part = line[r].Trim();
            if (part.IsEmpty) continue;
            int colon = part.IndexOf(':');
            if (colon < 0) return null;
            var key = part[..colon];
            var val = part[(colon + 1)..].Trim();
            if (key.SequenceEqual("field")) decl = val.ToString();
            else if (key.SequenceEqual("offset")) { if (Fields.TryNonNegativeInt(val, out int o)) offset = o; else return null; }
            else if (key.SequenceEqual("size")) { if (Fields.TryNonNegativeInt(val, out int s)) size = s; else return null; }
            else if (key.SequenceEqual("signed")) { if (val is "0" or "1") signed = val[0] == '1'; else return null; }
        }
        if (decl is null || offset is null || size is null) return null;
        return MakeField(decl, offset.Value, size.Value, signed, longSize);
    }

    private static TraceEventField? MakeField(string decl, int offset, int size, bool signed, int longSize)
    {
        decl = decl.Trim();
        int? arrayLength = null;
        string name, type;
        // "unsigned long args[6]", "char comm[16]", "unsigned long args[]", "__data_loc char[] name", "int pid"
        string body = decl;
        if (body.EndsWith(']'))
        {
            int open = body.LastIndexOf('[');
            if (open < 0) return null;
            string len = body[(open + 1)..^1];
            // Symbolic lengths (TASK_COMM_LEN) are derived from the size below; a number must fit.
            if (len.Length > 0 && char.IsAsciiDigit(len[0]) && !Fields.TryNonNegativeInt(len, out _)) return null;
            arrayLength = len.Length == 0 ? 0 : Fields.TryNonNegativeInt(len, out int l) ? l : 0;
            body = body[..open].TrimEnd();
        }
        int sp = body.LastIndexOfAny([' ', '*', '\t']);
        if (sp < 0) return null;
        name = body[(sp + 1)..];
        type = body[..(sp + 1)].Trim();
        if (name.Length == 0 || type.Length == 0) return null;
        bool isLoc = type.StartsWith("__data_loc") || type.StartsWith("__rel_loc");
        string elementType = isLoc ? type[(type.IndexOf(' ') + 1)..].Replace("[]", "").Trim() : type;
        int elementSize = ElementSize(elementType, longSize);
        TraceFieldKind kind;
        if (isLoc) kind = IsChar(elementType) ? TraceFieldKind.DynamicString : TraceFieldKind.DynamicArray;
        else if (arrayLength is not null)
        {
            if (IsChar(elementType) && size > 0) kind = TraceFieldKind.String;
            else if (size == 0) kind = TraceFieldKind.TrailingArray;
            else kind = TraceFieldKind.Array;
            if (kind == TraceFieldKind.Array && arrayLength == 0 && elementSize > 0) arrayLength = size / elementSize;
            if (kind == TraceFieldKind.Array && arrayLength > 0) elementSize = size / arrayLength.Value;
        }
        else if (type.Contains('*')) kind = TraceFieldKind.Pointer;
        else if (size is 1 or 2 or 4 or 8) { kind = TraceFieldKind.Integer; elementSize = size; }
        else kind = TraceFieldKind.Bytes;
        return new TraceEventField(name, type, offset, size, signed, arrayLength, kind, elementSize, name.StartsWith("common_"));
    }

    private static bool IsChar(string t) => t is "char" or "unsigned char" or "signed char" or "const char";

    /// <summary>Bytes of a C scalar type name; longs and pointers take <paramref name="longSize"/>.</summary>
    internal static int ElementSize(string t, int longSize)
    {
        t = t.Replace("const ", "").Replace("volatile ", "").Trim();
        if (t.EndsWith('*')) return longSize;
        return t switch
        {
            "char" or "unsigned char" or "signed char" or "u8" or "s8" or "__u8" or "__s8" or "bool" or "_Bool" or "int8_t" or "uint8_t" => 1,
            "short" or "unsigned short" or "u16" or "s16" or "__u16" or "__s16" or "int16_t" or "uint16_t" or "__be16" or "__le16" => 2,
            "int" or "unsigned int" or "unsigned" or "u32" or "s32" or "__u32" or "__s32" or "pid_t" or "int32_t" or "uint32_t" or "gfp_t" or "dev_t" or "__be32" or "__le32" or "uid_t" or "gid_t" => 4,
            "long long" or "unsigned long long" or "u64" or "s64" or "__u64" or "__s64" or "int64_t" or "uint64_t" or "loff_t" or "sector_t" or "__be64" or "__le64" => 8,
            "long" or "unsigned long" or "size_t" or "ssize_t" or "unsigned long int" or "long int" => longSize,
            _ => 1,
        };
    }
}
