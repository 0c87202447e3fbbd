using System.Diagnostics;

namespace KernelDebug.TestSupport;

/// <summary>
/// A cgroup v1 memory cgroup of the test's own, with a limit: the only cgroup the OOM and reclaim oracles put at risk.
/// Removed on Dispose (retrying while the kernel still counts an exiting member).
/// </summary>
public sealed class MemoryCgroup : IDisposable
{
    /// <summary>Where machines of this kind mount the v1 memory controller.</summary>
    public const string Hierarchy = "/sys/fs/cgroup/memory";

    private MemoryCgroup(string path) => Path = path;

    /// <summary>The cgroup directory.</summary>
    public string Path { get; }
    /// <summary>Its path as the kernel names it in the hierarchy ("/name").</summary>
    public string KernelPath => "/" + System.IO.Path.GetFileName(Path);

    /// <summary>Creates <c>name-PID</c> under the v1 memory hierarchy with memory.limit_in_bytes = <paramref name="limitBytes"/>.</summary>
    public static MemoryCgroup Create(string name, long limitBytes)
    {
        if (!Directory.Exists(Hierarchy)) throw new InvalidOperationException($"{Hierarchy} is not mounted: machines of this kind have the cgroup v1 memory controller");
        var cg = new MemoryCgroup(System.IO.Path.Combine(Hierarchy, $"{name}-{Environment.ProcessId}"));
        Directory.CreateDirectory(cg.Path);
        File.WriteAllText(System.IO.Path.Combine(cg.Path, "memory.limit_in_bytes"), limitBytes.ToString());
        return cg;
    }

    /// <summary>Starts <paramref name="command"/> (a shell command line) inside the cgroup: the shell moves itself in, then execs it.</summary>
    public Process Start(string command) =>
        Process.Start(new ProcessStartInfo("sh", ["-c", $"echo $$ > {Path}/cgroup.procs && exec {command}"]) { RedirectStandardError = true, UseShellExecute = false })!;

    /// <summary>Removes the cgroup.</summary>
    public void Dispose()
    {
        for (int i = 0; i < 50 && Directory.Exists(Path); i++)
        {
            try { Directory.Delete(Path); }
            catch (IOException) { Thread.Sleep(100); }
        }
    }
}
