using System.Runtime.InteropServices;

namespace KernelDebug.TestSupport;

/// <summary>
/// Pipes for the kernel-side oracles (pipe allocations, pipe mutex contention, pipe wakeups). Always O_CLOEXEC: the
/// suite runs tests in parallel and other tests start child processes, and a child forked while a pipe is open keeps
/// it alive until it execs or exits. A plain pipe() once kept 1170 of 4000 pipe allocations outstanding after
/// close, and a reader waiting for end of file can wait for a child's exit.
/// </summary>
public static unsafe partial class Pipes
{
    private const int O_CLOEXEC = 0x80000;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int pipe2(int* fds, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint write(int fd, byte* buf, nint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint read(int fd, byte* buf, nint count);

    [LibraryImport("libc")]
    private static partial int close(int fd);

    /// <summary>One pipe: its read and write ends.</summary>
    public static (int Read, int Write) Open()
    {
        int* two = stackalloc int[2];
        if (pipe2(two, O_CLOEXEC) != 0) throw new InvalidOperationException($"pipe2 failed: errno {Marshal.GetLastPInvokeError()}");
        return (two[0], two[1]);
    }

    /// <summary><paramref name="n"/> pipes kept open: both ends of each (2n fds), for <see cref="Close"/>.</summary>
    public static List<int> Open(int n)
    {
        var fds = new List<int>(2 * n);
        for (int i = 0; i < n; i++)
        {
            try
            {
                var (r, w) = Open();
                fds.Add(r);
                fds.Add(w);
            }
            catch (InvalidOperationException e)
            {
                Close(fds);
                throw new InvalidOperationException($"{e.Message} after {i} pipes", e);
            }
        }
        return fds;
    }

    /// <summary>Closes the fds and empties the list (so that a second call in a finally closes nothing).</summary>
    public static void Close(List<int> fds)
    {
        foreach (var fd in fds) close(fd);
        fds.Clear();
    }

    /// <summary>Closes one fd.</summary>
    public static void Close(int fd) => close(fd);

    /// <summary>
    /// Eight writer threads and one reader on one pipe for <paramref name="duration"/>: the writers contend on the
    /// pipe's mutex (pipe_write takes pipe->mutex).
    /// </summary>
    public static void Contend(TimeSpan duration)
    {
        var (r, w) = Open();
        var stop = DateTime.UtcNow + duration;
        var writers = Enumerable.Range(0, 8).Select(_ => new Thread(() =>
        {
            var buf = new byte[4096];
            fixed (byte* p = buf)
                while (DateTime.UtcNow < stop)
                    write(w, p, buf.Length);
        })).ToList();
        var reader = new Thread(() =>
        {
            var buf = new byte[65536];
            fixed (byte* p = buf)
                while (read(r, p, buf.Length) > 0) { }
        });
        reader.Start();
        writers.ForEach(t => t.Start());
        writers.ForEach(t => t.Join());
        close(w);
        reader.Join();
        close(r);
    }
}
