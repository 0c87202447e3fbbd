using System.Diagnostics;

namespace KernelDebug.TestSupport;

/// <summary>
/// A single-threaded child that waits for one byte on stdin, then calls nanosleep N times: an oracle whose process
/// makes no sleep of its own beside the ones asked for (the test host's runtime threads sleep now and then, which a
/// per-process filter cannot tell apart). Built once per test run with clang, which the build itself needs.
/// </summary>
public static class NativeSleeper
{
    private const string Source = """
        #include <time.h>
        #include <stdlib.h>
        #include <unistd.h>
        int main(int argc, char **argv) {
            char c;
            if (argc < 3 || read(0, &c, 1) != 1) return 2;
            struct timespec ts = { 0, atol(argv[2]) };
            for (int i = atoi(argv[1]); i > 0; i--) nanosleep(&ts, NULL);
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

    /// <summary>Starts a sleeper that will sleep <paramref name="count"/> times for <paramref name="each"/> once <see cref="Go"/> is called.</summary>
    public static Process Start(int count, TimeSpan each) =>
        Process.Start(new ProcessStartInfo(Binary.Value, [count.ToString(), ((long)(each.TotalMilliseconds * 1_000_000)).ToString()])
            { RedirectStandardInput = true, UseShellExecute = false })!;

    /// <summary>Lets a started sleeper run and waits for it to finish.</summary>
    public static void Go(Process sleeper)
    {
        sleeper.StandardInput.Write('x');
        sleeper.StandardInput.Flush();
        if (!sleeper.WaitForExit(60_000)) { sleeper.Kill(); throw new TimeoutException("the sleeper did not finish"); }
        if (sleeper.ExitCode != 0) throw new InvalidOperationException($"the sleeper exited with {sleeper.ExitCode}");
    }
}
