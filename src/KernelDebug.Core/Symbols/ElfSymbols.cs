using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;

namespace KernelDebug.Core.Symbols;

/// <summary>
/// Function symbols of one ELF64 little-endian file (.symtab, else .dynsym), looked up by file offset: what a
/// /proc/PID/maps entry gives for a user address (offset = ip - start + mapping offset). Unreadable, non-ELF or
/// stripped files yield an empty table, never an exception.
/// </summary>
public sealed class ElfSymbolTable
{
    private static readonly ConcurrentDictionary<string, ElfSymbolTable> Cache = new();
    private readonly (ulong Start, ulong Size, string Name)[] _byOffset;

    private ElfSymbolTable((ulong, ulong, string)[] symbols) => _byOffset = symbols;

    /// <summary>Number of function symbols.</summary>
    public int Count => _byOffset.Length;

    /// <summary>The function symbols in file-offset order.</summary>
    public IReadOnlyList<(ulong FileOffset, ulong Size, string Name)> Functions => _byOffset;

    /// <summary>The table of a file, read once per process (binaries do not change under a running process).</summary>
    public static ElfSymbolTable ForFile(string path) => Cache.GetOrAdd(path, p =>
    {
        try
        {
            var info = new FileInfo(p);
            if (!info.Exists || info.Length > 512L << 20) return new ElfSymbolTable([]);
            return Parse(File.ReadAllBytes(p));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new ElfSymbolTable([]);
        }
    });

    /// <summary>The function containing a file offset and the offset into it, or null.</summary>
    public (string Name, ulong Offset)? Resolve(ulong fileOffset)
    {
        int lo = 0, hi = _byOffset.Length - 1, found = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_byOffset[mid].Start <= fileOffset) { found = mid; lo = mid + 1; }
            else hi = mid - 1;
        }
        if (found < 0) return null;
        var s = _byOffset[found];
        ulong off = fileOffset - s.Start;
        return s.Size == 0 ? (off < 4096 ? (s.Name, off) : null) : off < s.Size ? (s.Name, off) : null;
    }

    /// <summary>Parses an ELF64 little-endian image: STT_FUNC symbols of .symtab (or .dynsym), placed at file offsets through PT_LOAD.</summary>
    public static ElfSymbolTable Parse(ReadOnlySpan<byte> elf)
    {
        var empty = new ElfSymbolTable([]);
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F' || elf[4] != 2 || elf[5] != 1) return empty;
        ulong phoff = U64(elf, 32), shoff = U64(elf, 40);
        int phentsize = U16(elf, 54), phnum = U16(elf, 56), shentsize = U16(elf, 58), shnum = U16(elf, 60);
        if (shoff == 0 || shentsize < 64 || phentsize < 56 || (long)shoff + (long)shnum * shentsize > elf.Length || (long)phoff + (long)phnum * phentsize > elf.Length) return empty;

        var loads = new List<(ulong Vaddr, ulong Offset, ulong Size)>();
        for (int i = 0; i < phnum; i++)
        {
            int p = (int)phoff + i * phentsize;
            if (U32(elf, p) == 1 /* PT_LOAD */) loads.Add((U64(elf, p + 16), U64(elf, p + 8), U64(elf, p + 40)));
        }

        int symtab = -1, dynsym = -1;
        for (int i = 0; i < shnum; i++)
        {
            uint type = U32(elf, (int)shoff + i * shentsize + 4);
            if (type == 2) symtab = i;
            else if (type == 11) dynsym = i;
        }
        int chosen = symtab >= 0 ? symtab : dynsym;
        if (chosen < 0) return empty;
        var (symOff, symSize, link, entSize) = Section(elf, shoff, shentsize, chosen);
        if (entSize < 24 || link >= shnum || symOff < 0 || symSize < 0 || (long)symOff + symSize > elf.Length) return empty;
        var (strOff, strSize, _, _) = Section(elf, shoff, shentsize, link);
        if (strOff < 0 || strSize < 0 || (long)strOff + strSize > elf.Length) return empty;

        var list = new List<(ulong, ulong, string)>();
        for (int s = symOff; s + 24 <= symOff + symSize; s += entSize)
        {
            byte info = elf[s + 4];
            if ((info & 0xf) != 2 /* STT_FUNC */) continue;
            ushort shndx = U16(elf, s + 6);
            ulong value = U64(elf, s + 8), size = U64(elf, s + 16);
            if (shndx == 0 || value == 0) continue;
            uint nameOff = U32(elf, s);
            if (nameOff >= strSize) continue;
            var rest = elf.Slice(strOff + (int)nameOff, strSize - (int)nameOff);
            int end = rest.IndexOf((byte)0);
            if (end <= 0) continue;
            ulong? fileOffset = null;
            foreach (var l in loads)
                if (value >= l.Vaddr && value < l.Vaddr + l.Size) { fileOffset = value - l.Vaddr + l.Offset; break; }
            if (fileOffset is null) continue;
            list.Add((fileOffset.Value, size, Encoding.UTF8.GetString(rest[..end])));
        }
        list.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return new ElfSymbolTable(list.ToArray());
    }

    // Section header i: sh_offset, sh_size, sh_link, sh_entsize; sizes beyond int range come out negative and fail the bounds checks.
    private static (int Off, int Size, int Link, int EntSize) Section(ReadOnlySpan<byte> elf, ulong shoff, int shentsize, int i)
    {
        int s = (int)shoff + i * shentsize;
        return ((int)U64(elf, s + 24), (int)U64(elf, s + 32), (int)U32(elf, s + 40), (int)U64(elf, s + 56));
    }

    private static ushort U16(ReadOnlySpan<byte> b, int o) => BinaryPrimitives.ReadUInt16LittleEndian(b.Slice(o, 2));
    private static uint U32(ReadOnlySpan<byte> b, int o) => BinaryPrimitives.ReadUInt32LittleEndian(b.Slice(o, 4));
    private static ulong U64(ReadOnlySpan<byte> b, int o) => BinaryPrimitives.ReadUInt64LittleEndian(b.Slice(o, 8));
}
