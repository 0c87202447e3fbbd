using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace KernelDebug.Core.Bpf.Native;

// libbpf's print callback. libbpf has one process-wide callback, but it calls it on the thread that runs
// open/load/attach, so messages are routed to whatever log that thread has installed (LibbpfLog.Capture).
internal static unsafe partial class Libbpf
{
    [LibraryImport(Lib)]
    internal static partial nint libbpf_set_print(delegate* unmanaged[Cdecl]<int, byte*, nint, int> fn);
}

/// <summary>libbpf message levels (enum libbpf_print_level).</summary>
public enum LibbpfLogLevel
{
    /// <summary>LIBBPF_WARN.</summary>
    Warning = 0,
    /// <summary>LIBBPF_INFO.</summary>
    Info = 1,
    /// <summary>LIBBPF_DEBUG.</summary>
    Debug = 2,
}

/// <summary>
/// Collects what libbpf prints while one thread opens, loads and attaches an object: warnings and info go to a
/// verbose sink, and the warnings are kept so a failed load can quote them in its error.
/// </summary>
internal sealed unsafe class LibbpfLog : IDisposable
{
    [ThreadStatic] private static LibbpfLog? _current;
    private static int _installed;

    private readonly LibbpfLog? _previous;
    private readonly Action<string>? _verbose;
    private readonly List<string> _warnings = new();

    private LibbpfLog(Action<string>? verbose)
    {
        _verbose = verbose;
        _previous = _current;
        _current = this;
    }

    /// <summary>Routes this thread's libbpf messages to <paramref name="verbose"/> until disposed.</summary>
    public static LibbpfLog Capture(Action<string>? verbose)
    {
        if (Interlocked.Exchange(ref _installed, 1) == 0) Libbpf.libbpf_set_print(&Print);
        return new LibbpfLog(verbose);
    }

    /// <summary>The last warnings libbpf printed, for an error message.</summary>
    public string Tail(int lines = 12) => string.Join("\n", _warnings.TakeLast(lines));

    public void Dispose() => _current = _previous;

    private void Add(LibbpfLogLevel level, string text)
    {
        text = text.TrimEnd('\n');
        if (level == LibbpfLogLevel.Warning) _warnings.Add(text);
        _verbose?.Invoke($"libbpf: {text}");
    }

    // (enum libbpf_print_level, const char *fmt, va_list ap). On x86-64 System V, va_list is a pointer to a
    // 24-byte __va_list_tag; vsnprintf consumes it, so measure with a copy (what va_copy does) and format with the original.
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Print(int level, byte* format, nint args)
    {
        try
        {
            var log = _current;
            // Debug is hundreds of lines per load: formatting it would cost more than the load. Warnings and info only.
            if (log is null || level == (int)LibbpfLogLevel.Debug) return 0;
            byte* copy = stackalloc byte[24];
            Buffer.MemoryCopy((void*)args, copy, 24, 24);
            int n = Libc.vsnprintf(null, 0, format, (nint)copy);
            if (n <= 0) return 0;
            var buffer = n < 4096 ? stackalloc byte[n + 1] : new byte[n + 1];
            fixed (byte* p = buffer) Libc.vsnprintf(p, (nuint)buffer.Length, format, args);
            log.Add((LibbpfLogLevel)level, Encoding.UTF8.GetString(buffer[..n]));
        }
        catch
        {
            // Never let an exception cross into native code.
        }
        return 0;
    }
}
