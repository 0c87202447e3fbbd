using System.Runtime.InteropServices;
using System.Text;

namespace KernelDebug.Core.Native;

/// <summary>
/// Capstone 4 (libcapstone.so.4, Debian libcapstone4): the disassembler for arm64 and arm <c>Code:</c> words
/// (Iced decodes only x86). Loaded lazily; a missing library is reported, never thrown.
/// </summary>
internal static partial class LibCapstone
{
    private const string Lib = "libcapstone.so.4";

    /// <summary>cs_arch values of Capstone 4.</summary>
    public const int ArchArm = 0, ArchArm64 = 1;
    /// <summary>cs_mode values: little-endian ARM (also arm64), Thumb.</summary>
    public const int ModeArm = 0, ModeThumb = 1 << 4;

    // struct cs_insn of Capstone 4: id, address, size, bytes[16], mnemonic[32], op_str[160], detail.
    private const int SizeOffset = 16, MnemonicOffset = 34, MnemonicSize = 32, OpStrOffset = 66, OpStrSize = 160;

    [LibraryImport(Lib, EntryPoint = "cs_open")]
    private static partial int Open(int arch, int mode, out nuint handle);

    [LibraryImport(Lib, EntryPoint = "cs_close")]
    private static partial int Close(ref nuint handle);

    [LibraryImport(Lib, EntryPoint = "cs_disasm")]
    private static unsafe partial nuint Disasm(nuint handle, byte* code, nuint size, ulong address, nuint count, out nint insn);

    [LibraryImport(Lib, EntryPoint = "cs_free")]
    private static partial void Free(nint insn, nuint count);

    /// <summary>One decoded instruction: size 0 when the bytes are not an instruction.</summary>
    public readonly record struct Insn(int Size, string Mnemonic, string Operands);

    /// <summary>Why Capstone cannot be used here, or null when it loads.</summary>
    public static string? Unavailable => _unavailable.Value;

    private static readonly Lazy<string?> _unavailable = new(() =>
    {
        if (Probe(Lib) is { } reason) return reason;
        if (Open(ArchArm64, ModeArm, out nuint h) != 0) return "Capstone could not open an arm64 disassembler";
        Close(ref h);
        return null;
    });

    /// <summary>Why a Capstone library of this name cannot be used (not installed, not Capstone), or null when it loads.</summary>
    public static string? Probe(string library)
    {
        if (!NativeLibrary.TryLoad(library, typeof(LibCapstone).Assembly, null, out nint handle))
            return $"{library} (Capstone) is not installed: apt-get install libcapstone4";
        try
        {
            return NativeLibrary.TryGetExport(handle, "cs_disasm", out _) ? null : $"{library} has no cs_disasm: not Capstone";
        }
        finally { NativeLibrary.Free(handle); }
    }

    /// <summary>
    /// Decodes every instruction: one per <paramref name="unit"/> bytes for fixed-width code (arm64, arm), else
    /// (Thumb) as long as each decodes, stepping <paramref name="unit"/> past bytes that do not. Null when Capstone is missing.
    /// </summary>
    public static unsafe List<(int Offset, Insn Insn)>? Decode(int arch, int mode, ReadOnlySpan<byte> code, int unit, bool fixedWidth, ulong address)
    {
        if (Unavailable is not null) return null;
        if (Open(arch, mode, out nuint h) != 0) return null;
        try
        {
            var list = new List<(int, Insn)>();
            fixed (byte* p = code)
            {
                for (int off = 0; off + unit <= code.Length;)
                {
                    int len = fixedWidth ? unit : code.Length - off;
                    nuint n = Disasm(h, p + off, (nuint)len, address + (ulong)off, 1, out nint insn);
                    if (n == 0) { list.Add((off, new Insn(0, "", ""))); off += unit; continue; }
                    try
                    {
                        byte* b = (byte*)insn;
                        int size = *(ushort*)(b + SizeOffset);
                        list.Add((off, new Insn(size, Str(b + MnemonicOffset, MnemonicSize), Str(b + OpStrOffset, OpStrSize))));
                        off += Math.Max(size, unit);
                    }
                    finally { Free(insn, n); }
                }
            }
            return list;
        }
        finally { Close(ref h); }
    }

    private static unsafe string Str(byte* p, int max)
    {
        int len = 0;
        while (len < max && p[len] != 0) len++;
        return Encoding.UTF8.GetString(p, len);
    }
}
