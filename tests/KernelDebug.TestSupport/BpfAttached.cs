using KernelDebug.Core.Bpf;

namespace KernelDebug.TestSupport;

/// <summary>
/// Starts a workload once a cmdlet running in this process has attached its programs: links of this process (BPF
/// link fds in /proc/self/fdinfo) whose program's name starts with the tool's prefix. Waiting for the programs to be
/// loaded is not enough: they are loaded before they are attached, and calls made between the two are not counted
/// (9,896 of 10,000 getppid calls once, under the parallel suite).
/// </summary>
public static class BpfAttached
{
    /// <summary>How many of this process's BPF links attach a program whose name starts with <paramref name="prefix"/>.</summary>
    public static int Links(string prefix)
    {
        var programs = BpfProgramInfo.ReadAll(n => n.StartsWith(prefix, StringComparison.Ordinal), resolveOwners: false).Select(p => p.Id).ToHashSet();
        if (programs.Count == 0) return 0;
        int links = 0;
        foreach (var file in Directory.EnumerateFiles("/proc/self/fdinfo"))
        {
            string text;
            try { text = File.ReadAllText(file); }
            catch (IOException) { continue; }       // the fd closed meanwhile
            if (!text.Contains("link_type:", StringComparison.Ordinal)) continue;
            foreach (var line in text.Split('\n'))
                if (line.StartsWith("prog_id:", StringComparison.Ordinal) && uint.TryParse(line.AsSpan(8).Trim(), out var id) && programs.Contains(id))
                    links++;
        }
        return links;
    }

    /// <summary>Runs <paramref name="load"/> on a new thread once <paramref name="links"/> programs named <paramref name="prefix"/>* are attached (at most 20 s).</summary>
    public static Thread Then(string prefix, int links, Action load)
    {
        var t = new Thread(() =>
        {
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (Links(prefix) < links && DateTime.UtcNow < deadline) Thread.Sleep(2);
            load();
        }) { IsBackground = true };
        t.Start();
        return t;
    }
}
