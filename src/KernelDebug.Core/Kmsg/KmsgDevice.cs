using System.Runtime.InteropServices;

namespace KernelDebug.Core.Kmsg;

/// <summary>
/// The libc calls that reading <c>/dev/kmsg</c> needs and .NET's FileStream does not offer: a non-blocking open
/// (so the end of the buffer is <c>EAGAIN</c> instead of a wait), one record per <c>read()</c>, and <c>poll()</c> to follow.
/// </summary>
internal static unsafe partial class KmsgDevice
{
    public const int O_RDONLY = 0;
    public const int O_WRONLY = 1;
    public const int O_NONBLOCK = 0x800;
    public const int O_CLOEXEC = 0x80000;
    public const int EPERM = 1, ENOENT = 2, EINTR = 4, EAGAIN = 11, EACCES = 13, EINVAL = 22, EPIPE = 32;
    public const short POLLIN = 1;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint count, int timeoutMs);
}
