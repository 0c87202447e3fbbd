using System.Runtime.InteropServices;

namespace KernelDebug.Core.Native;

/// <summary>zstd decompression (libzstd.so.1), for trace-cmd v7 files; .NET has no zstd of its own.</summary>
internal static partial class LibZstd
{
    [LibraryImport("libzstd.so.1", EntryPoint = "ZSTD_decompress")]
    private static unsafe partial nuint Decompress(byte* dst, nuint dstCapacity, byte* src, nuint srcSize);

    [LibraryImport("libzstd.so.1", EntryPoint = "ZSTD_isError")]
    private static partial uint IsError(nuint code);

    /// <summary>Decompresses one zstd frame into a buffer of the known size; null when it fails or libzstd is missing.</summary>
    public static unsafe byte[]? TryDecompress(ReadOnlySpan<byte> src, int uncompressedSize)
    {
        var dst = new byte[uncompressedSize];
        try
        {
            fixed (byte* d = dst)
            fixed (byte* s = src)
            {
                nuint n = Decompress(d, (nuint)dst.Length, s, (nuint)src.Length);
                if (IsError(n) != 0) return null;
                return (int)n == dst.Length ? dst : dst[..(int)n];
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return null; }
    }

    /// <summary>Decompresses one zstd frame into <paramref name="dst"/>; the bytes written, or -1 when it fails or libzstd is missing.</summary>
    public static unsafe int TryDecompress(ReadOnlySpan<byte> src, Span<byte> dst)
    {
        try
        {
            fixed (byte* d = dst)
            fixed (byte* s = src)
            {
                nuint n = Decompress(d, (nuint)dst.Length, s, (nuint)src.Length);
                return IsError(n) != 0 ? -1 : (int)n;
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return -1; }
    }
}
