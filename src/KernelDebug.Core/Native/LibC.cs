using System.Runtime.InteropServices;

namespace KernelDebug.Core.Native;

/// <summary>
/// The one place for the libc calls .NET does not offer: mount(2); open/read/write with the exact errno (tracefs
/// reports a rejected filter or tracer only through the errno of write(2)); non-blocking reads and poll(2) (trace_pipe_raw
/// and /dev/kmsg, whose end is EAGAIN instead of a wait, one record per read).
/// </summary>
internal static partial class LibC
{
    public const int O_RDONLY = 0, O_WRONLY = 1, O_TRUNC = 0x200, O_APPEND = 0x400, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000;
    public const int EPERM = 1, ENOENT = 2, EINTR = 4, EAGAIN = 11, EACCES = 13, EBUSY = 16, EEXIST = 17, EINVAL = 22, ENODEV = 19, EPIPE = 32;
    public const short POLLIN = 1;

    /// <summary>struct pollfd.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Stat(string path, byte* statBuffer);

    /// <summary>The inode number of a path (st_ino; struct stat is 144 bytes on x86_64/arm64, st_ino at 8), or null.</summary>
    public static unsafe ulong? Inode(string path)
    {
        byte* buf = stackalloc byte[256];
        return Stat(path, buf) == 0 ? *(ulong*)(buf + 8) : null;
    }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static unsafe partial int Poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mount(string source, string target, string fileSystemType, nuint flags, nint data);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static unsafe partial nint Read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static unsafe partial nint Write(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "mkdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MkDir(string path, uint mode);

    [LibraryImport("libc", EntryPoint = "rmdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int RmDir(string path);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    /// <summary>free(3), for strings C libraries allocate for the caller (sd_journal_get_cursor).</summary>
    [LibraryImport("libc", EntryPoint = "free")]
    public static partial void Free(nint pointer);

    [LibraryImport("libc", EntryPoint = "strerror")]
    private static partial nint StrError(int errno);

    /// <summary>The C library's text for an errno ("Operation not permitted").</summary>
    public static string Describe(int errno) => Marshal.PtrToStringUTF8(StrError(errno)) ?? $"errno {errno}";

    /// <summary>Writes <paramref name="text"/> to a file in one write(2); returns 0 or the errno.</summary>
    public static unsafe int WriteFile(string path, string text, bool append = false)
    {
        int fd = Open(path, O_WRONLY | O_CLOEXEC | (append ? O_APPEND : O_TRUNC));
        if (fd < 0) return Marshal.GetLastPInvokeError();
        try
        {
            byte[] bytes = System.Text.Encoding.UTF8.GetBytes(text);
            fixed (byte* p = bytes)
            {
                nint n = Write(fd, p, (nuint)bytes.Length);
                return n < 0 ? Marshal.GetLastPInvokeError() : 0;
            }
        }
        finally { Close(fd); }
    }

    /// <summary>Reads the start of a file; returns 0 or the errno (tells "readable" from "refused").</summary>
    public static unsafe int Probe(string path)
    {
        int fd = Open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0) return Marshal.GetLastPInvokeError();
        try
        {
            byte* b = stackalloc byte[64];
            nint n = Read(fd, b, 64);
            return n < 0 ? Marshal.GetLastPInvokeError() : 0;
        }
        finally { Close(fd); }
    }
}
