using System.Runtime.InteropServices;
using System.Text;

namespace KernelDebug.Core.Kmsg;

/// <summary>
/// TEMPORARY, local to Get-MachineCheck: reads the messages of <c>/dev/kmsg</c> (live, non-blocking) or of a
/// <c>dev/kmsg</c> text file in a snapshot. The kernel-log area builds the shared /dev/kmsg reader on another
/// branch; at merge Get-MachineCheck switches to it and this class goes. Do not use it elsewhere.
/// </summary>
internal static partial class LocalKmsgReader
{
    private const int O_RDONLY = 0, O_NONBLOCK = 0x800, EAGAIN = 11, EPIPE = 32, EINTR = 4, SEEK_END = 2, POLLIN = 1;

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);
    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial nint read(int fd, byte* buf, nint count);
    [LibraryImport("libc", SetLastError = true)]
    private static partial long lseek(int fd, long offset, int whence);
    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int poll(PollFd* fds, nuint n, int timeout);
    [LibraryImport("libc")]
    private static partial int close(int fd);

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd { public int Fd; public short Events; public short Revents; }

    /// <summary>The message text and time since boot of every record a root's kmsg holds now.</summary>
    public static IEnumerable<(string Text, TimeSpan Uptime)> ReadAll(KernelRoot root)
    {
        if (!root.IsLive)
        {
            string? text = root.TryReadText("dev/kmsg");
            if (text is null) yield break;
            foreach (var line in text.Split('\n'))
                if (ParseRecord(line) is { } r) yield return r;
            yield break;
        }
        int fd = Open();
        try
        {
            while (ReadRecord(fd) is { } rec) if (ParseRecord(rec) is { } r) yield return r;
        }
        finally { close(fd); }
    }

    /// <summary>Follows records logged from now on until <paramref name="token"/> is cancelled.</summary>
    public static IEnumerable<(string Text, TimeSpan Uptime)> Follow(CancellationToken token)
    {
        int fd = Open();
        try
        {
            lseek(fd, 0, SEEK_END);
            while (!token.IsCancellationRequested)
            {
                if (!Wait(fd, 200)) continue;
                while (ReadRecord(fd) is { } rec) if (ParseRecord(rec) is { } r) yield return r;
            }
        }
        finally { close(fd); }
    }

    private static int Open()
    {
        int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw errno == 13 || errno == 1
                ? Errors.KernelErrors.AccessDenied("/dev/kmsg", "Reading the kernel log needs CAP_SYSLOG when kernel.dmesg_restrict=1: run as root.")
                : Errors.KernelErrors.FileNotFound("/dev/kmsg", "the kernel (CONFIG_PRINTK) and devtmpfs");
        }
        return fd;
    }

    private static unsafe bool Wait(int fd, int ms)
    {
        var p = new PollFd { Fd = fd, Events = POLLIN };
        return poll(&p, 1, ms) > 0;
    }

    private static unsafe string? ReadRecord(int fd)
    {
        byte* buf = stackalloc byte[8192];
        while (true)
        {
            nint n = read(fd, buf, 8192);
            if (n > 0) return Encoding.UTF8.GetString(buf, (int)n);
            int errno = Marshal.GetLastPInvokeError();
            if (n < 0 && (errno == EPIPE || errno == EINTR)) continue; // overwritten records: go on with the next
            return null;
        }
    }

    // "6,1234,5678901,-;text" (continuation lines " KEY=value" are skipped).
    private static (string, TimeSpan)? ParseRecord(string rec)
    {
        int semi = rec.IndexOf(';');
        if (semi < 0) return null;
        var head = rec.AsSpan(0, semi);
        int c1 = head.IndexOf(','), c2 = c1 < 0 ? -1 : head[(c1 + 1)..].IndexOf(',') + c1 + 1;
        TimeSpan up = TimeSpan.Zero;
        if (c2 > c1 && c1 >= 0)
        {
            var rest = head[(c2 + 1)..];
            int c3 = rest.IndexOf(',');
            if (long.TryParse(c3 < 0 ? rest : rest[..c3], out long us)) up = TimeSpan.FromMicroseconds(us);
        }
        string text = rec[(semi + 1)..];
        int nl = text.IndexOf('\n');
        if (nl >= 0) text = text[..nl];
        return (Unescape(text), up);
    }

    private static string Unescape(string s)
    {
        if (!s.Contains("\\x")) return s;
        var sb = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 3 < s.Length && s[i + 1] == 'x' && Uri.IsHexDigit(s[i + 2]) && Uri.IsHexDigit(s[i + 3]))
            {
                sb.Append((char)Convert.ToInt32(s.Substring(i + 2, 2), 16));
                i += 3;
            }
            else sb.Append(s[i]);
        }
        return sb.ToString();
    }
}
