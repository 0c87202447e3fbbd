using System.Diagnostics;

namespace KernelDebug.TestSupport;

/// <summary>
/// A single-threaded child that waits for one byte on stdin, then N times spins for a while and calls nanosleep:
/// an oracle whose process makes no sleep, wakeup or block of its own beside the ones asked for. The test host's
/// runtime threads sleep now and then, and a managed thread blocks when it returns from native code during a
/// garbage collection, which no thread filter can tell apart. Built once per test run with clang, which the build
/// itself needs. Single-threaded, so its pid is its only thread id. In its other mode it opens a missing file
/// instead of sleeping: the test host's other threads open missing files too (probing paths), so a count of failed
/// opens is exact only in a process that does nothing else.
/// </summary>
public static class NativeSleeper
{
    private const string Source = """
        #define _GNU_SOURCE
        #include <sched.h>
        #include <fcntl.h>
        #include <stdio.h>
        #include <string.h>
        #include <sys/resource.h>
        #include <time.h>
        #include <stdlib.h>
        #include <unistd.h>
        static long now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000L + t.tv_nsec; }
        /* sleeper COUNT SLEEP_NS SPIN_NS NICE CPU (CPU < 0: any) [fifo|open] */
        int main(int argc, char **argv) {
            char c;
            if (argc < 6) return 2;
            int cpu = atoi(argv[5]), nice = atoi(argv[4]);
            if (cpu >= 0) { cpu_set_t s; CPU_ZERO(&s); CPU_SET(cpu, &s); if (sched_setaffinity(0, sizeof s, &s)) return 3; }
            if (nice && setpriority(PRIO_PROCESS, 0, nice)) return 4;
            int opens = argc > 6 && !strcmp(argv[6], "open");
            if (argc > 6 && !opens) { struct sched_param p = { 1 }; if (sched_setscheduler(0, SCHED_FIFO, &p)) return 5; }
            if (read(0, &c, 1) != 1) return 2;
            long sleep = atol(argv[2]), spin = atol(argv[3]);
            struct timespec ts = { sleep / 1000000000L, sleep % 1000000000L };
            long unblocked = 0;
            for (int i = atoi(argv[1]); i > 0; i--) {
                if (spin) { long end = now() + spin; while (now() < end) { } }
                if (opens) { if (open("/nonexistent/kd-oracle", O_RDONLY) != -1) return 6; }
                else {
                    /* A sleep whose timer fired before the task got off the CPU (an interrupt or a vCPU stall between
                       arming it and schedule()) returns without a context switch: count those for the oracles. */
                    struct rusage a, b;
                    getrusage(RUSAGE_SELF, &a);
                    nanosleep(&ts, NULL);
                    getrusage(RUSAGE_SELF, &b);
                    if (a.ru_nvcsw + a.ru_nivcsw == b.ru_nvcsw + b.ru_nivcsw) unblocked++;
                }
            }
            printf("%ld\n", unblocked);
            return 0;
        }
        """;

    private static readonly Lazy<string> Binary = new(Build);

    private static string Build()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"kd-sleeper-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        string c = Path.Combine(dir, "sleeper.c"), exe = Path.Combine(dir, "sleeper");
        File.WriteAllText(c, Source);
        using var p = Process.Start(new ProcessStartInfo("clang", ["-O2", "-o", exe, c]) { RedirectStandardError = true, UseShellExecute = false })!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException("clang could not build the sleeper: " + err);
        return exe;
    }

    /// <summary>
    /// Starts a sleeper that, once <see cref="Go"/> is called, <paramref name="count"/> times spins on the CPU for
    /// <paramref name="spin"/> and then sleeps for <paramref name="each"/>; pinned to <paramref name="cpu"/> when
    /// given, at nice <paramref name="nice"/>; with <paramref name="fifo"/> in SCHED_FIFO at priority 1, so that no
    /// ordinary task preempts its spins. Until then it blocks reading stdin (one wakeup when Go writes).
    /// </summary>
    public static Process Start(int count, TimeSpan each, TimeSpan spin = default, int nice = 0, int? cpu = null, bool fifo = false)
    {
        static string Ns(TimeSpan t) => ((long)(t.TotalMilliseconds * 1_000_000)).ToString();
        string[] args = [count.ToString(), Ns(each), Ns(spin), nice.ToString(), (cpu ?? -1).ToString(), .. fifo ? ["fifo"] : Array.Empty<string>()];
        return Process.Start(new ProcessStartInfo(Binary.Value, args) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false })!;
    }

    /// <summary>
    /// Starts a child that, once <see cref="Go"/> is called, <paramref name="count"/> times opens a file that does not
    /// exist (each fails with ENOENT) and then exits; its start-up is over before Go.
    /// </summary>
    public static Process StartOpener(int count) =>
        Process.Start(new ProcessStartInfo(Binary.Value, [count.ToString(), "0", "0", "0", "-1", "open"]) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false })!;

    /// <summary>Lets a started sleeper run, without waiting.</summary>
    public static void Release(Process sleeper)
    {
        sleeper.StandardInput.Write('x');
        sleeper.StandardInput.Flush();
    }

    /// <summary>
    /// Lets a started sleeper run and waits for it to finish; returns how many of its sleeps returned without taking
    /// it off the CPU (their timer fired first), each one a wakeup and a slice boundary that did not happen.
    /// </summary>
    public static int Go(Process sleeper)
    {
        Release(sleeper);
        var output = sleeper.StandardOutput.ReadToEndAsync();
        if (!sleeper.WaitForExit(60_000)) { sleeper.Kill(); throw new TimeoutException("the sleeper did not finish"); }
        if (sleeper.ExitCode != 0) throw new InvalidOperationException($"the sleeper exited with {sleeper.ExitCode}");
        return int.Parse(output.GetAwaiter().GetResult().Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
