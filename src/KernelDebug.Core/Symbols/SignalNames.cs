namespace KernelDebug.Core.Symbols;

/// <summary>Linux signal numbers (x86-64 and the generic ABI) and si_code values as their names.</summary>
public static class SignalNames
{
    private static readonly string[] Names =
    [
        "", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1",
        "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP",
        "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
    ];

    /// <summary>First real-time signal number as the kernel numbers them (glibc reserves the first two or three).</summary>
    public const int RealTimeMin = 32;

    /// <summary>"SIGUSR1" for 10, "SIGRTMIN+3" for 35, the number for anything else.</summary>
    public static string Name(int signal) => signal switch
    {
        > 0 and < RealTimeMin => Names[signal],
        >= RealTimeMin and <= 64 => signal == RealTimeMin ? "SIGRTMIN" : $"SIGRTMIN+{signal - RealTimeMin}",
        _ => signal.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>The number of a signal name, with or without SIG, any case ("usr1", "SIGKILL", "9"); null if unknown.</summary>
    public static int? Number(string name)
    {
        var n = name.Trim();
        if (int.TryParse(n, out int v)) return v is > 0 and <= 64 ? v : null;
        n = n.ToUpperInvariant();
        if (!n.StartsWith("SIG", StringComparison.Ordinal)) n = "SIG" + n;
        int i = Array.IndexOf(Names, n);
        if (i > 0) return i;
        if (n == "SIGRTMIN") return RealTimeMin;
        if (n.StartsWith("SIGRTMIN+", StringComparison.Ordinal) && int.TryParse(n[9..], out int k) && k is >= 0 and <= 64 - RealTimeMin) return RealTimeMin + k;
        return null;
    }

    /// <summary>The generic si_code names (who sent it); signal-specific positive codes by signal where common.</summary>
    public static string Code(int signal, int code) => code switch
    {
        0 => "SI_USER",
        0x80 => "SI_KERNEL",
        -1 => "SI_QUEUE",
        -2 => "SI_TIMER",
        -3 => "SI_MESGQ",
        -4 => "SI_ASYNCIO",
        -5 => "SI_SIGIO",
        -6 => "SI_TKILL",
        -7 => "SI_DETHREAD",
        -60 => "SI_ASYNCNL",
        > 0 when signal == 17 && code <= 6 => new[] { "", "CLD_EXITED", "CLD_KILLED", "CLD_DUMPED", "CLD_TRAPPED", "CLD_STOPPED", "CLD_CONTINUED" }[code],
        > 0 when signal == 11 && code <= 2 => code == 1 ? "SEGV_MAPERR" : "SEGV_ACCERR",
        _ => code.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
