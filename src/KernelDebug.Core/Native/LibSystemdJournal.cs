using System.Runtime.InteropServices;

namespace KernelDebug.Core.Native;

/// <summary>
/// The sd-journal API of libsystemd (libsystemd.so.0, on every systemd machine): the systemd journal's binary files
/// are read only through it, never by a parser of our own. Functions return 0 or more on success and a negative
/// errno on failure.
/// </summary>
internal static partial class LibSystemdJournal
{
    private const string Lib = "libsystemd.so.0";

    /// <summary>sd_id128_t: 16 bytes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Id128
    {
        public ulong Lo, Hi;

        /// <summary>The 32 lower-case hex digits systemd prints (bytes in order).</summary>
        public readonly unsafe string ToHex()
        {
            fixed (ulong* p = &Lo) return Convert.ToHexStringLower(new ReadOnlySpan<byte>(p, 16));
        }
    }

    [LibraryImport(Lib, EntryPoint = "sd_journal_open_files")]
    public static partial int OpenFiles(out nint journal, nint paths, int flags);

    [LibraryImport(Lib, EntryPoint = "sd_journal_close")]
    public static partial void Close(nint journal);

    [LibraryImport(Lib, EntryPoint = "sd_journal_set_data_threshold")]
    public static partial int SetDataThreshold(nint journal, nuint size);

    [LibraryImport(Lib, EntryPoint = "sd_journal_add_match")]
    public static unsafe partial int AddMatch(nint journal, byte* data, nuint size);

    [LibraryImport(Lib, EntryPoint = "sd_journal_flush_matches")]
    public static partial void FlushMatches(nint journal);

    [LibraryImport(Lib, EntryPoint = "sd_journal_seek_head")]
    public static partial int SeekHead(nint journal);

    [LibraryImport(Lib, EntryPoint = "sd_journal_seek_realtime_usec")]
    public static partial int SeekRealtimeUsec(nint journal, ulong usec);

    /// <summary>The cursor of the current entry ("s=&lt;seqnum id&gt;;i=&lt;seqnum hex&gt;;..."), to be freed with free(3).</summary>
    [LibraryImport(Lib, EntryPoint = "sd_journal_get_cursor")]
    public static partial int GetCursor(nint journal, out nint cursor);

    [LibraryImport(Lib, EntryPoint = "sd_journal_next")]
    public static partial int Next(nint journal);

    [LibraryImport(Lib, EntryPoint = "sd_journal_get_realtime_usec")]
    public static partial int GetRealtimeUsec(nint journal, out ulong usec);

    [LibraryImport(Lib, EntryPoint = "sd_journal_get_monotonic_usec")]
    public static partial int GetMonotonicUsec(nint journal, out ulong usec, out Id128 bootId);

    [LibraryImport(Lib, EntryPoint = "sd_journal_get_data", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int GetData(nint journal, string field, out nint data, out nuint length);

    [LibraryImport(Lib, EntryPoint = "sd_journal_enumerate_unique")]
    public static partial int EnumerateUnique(nint journal, out nint data, out nuint length);
}
