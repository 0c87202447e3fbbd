using System.Diagnostics;

namespace KernelDebug.TestSupport;

/// <summary>Output of a process run as another user.</summary>
public sealed record ProcessResult(int ExitCode, string StdOut, string StdErr)
{
    /// <summary>Both streams, for assertion messages.</summary>
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{StdOut}\n--- stderr\n{StdErr}";
}

/// <summary>
/// Runs pwsh with the built module as user <c>nobody</c>, without capabilities (<c>setpriv</c>), for the tests
/// that check what an unprivileged user is told. pwsh and the module are copied once to a world-readable folder
/// under /tmp, because the NuGet tool folder lives under /root, which nobody cannot enter.
/// </summary>
public static class Unprivileged
{
    private static readonly object Gate = new();
    private static string? _pwshDll;

    /// <summary>Why unprivileged runs are impossible here, or null when they work (root, setpriv present, module built).</summary>
    public static string? WhyUnavailable()
    {
        if (Environment.UserName != "root" && Environment.GetEnvironmentVariable("USER") != "root" && !IsRoot())
            return "the tests do not run as root, so they cannot switch to another user";
        if (!File.Exists("/usr/bin/setpriv") && !File.Exists("/bin/setpriv")) return "setpriv (util-linux) is not installed";
        if (!File.Exists(Path.Combine(TestPaths.ModuleDirectory, "KernelDebug.psd1"))) return "the module is not built (run build.ps1 Build)";
        if (FindPwshDll() is null) return "pwsh (the PowerShell dotnet tool) is not restored (run dotnet tool restore)";
        return null;
    }

    private static bool IsRoot() => File.ReadAllText("/proc/self/status").Split('\n')
        .FirstOrDefault(l => l.StartsWith("Uid:"))?.Split('\t', StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(1) == "0";

    /// <summary>Runs a pwsh script as nobody with the module imported, and returns its output.</summary>
    public static ProcessResult RunPwsh(string script, TimeSpan? timeout = null)
    {
        string dll = PreparePwsh();
        string module = PrepareModule();
        string home = Path.Combine(Path.GetTempPath(), "kd-nobody-home");
        Directory.CreateDirectory(home);
        Chmod(home, "777");
        var psi = new ProcessStartInfo("setpriv")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
                     "dotnet", dll, "-NoProfile", "-NonInteractive", "-Command",
                     $"Import-Module '{module}/KernelDebug.psd1'; {script}" })
            psi.ArgumentList.Add(a);
        psi.Environment["HOME"] = home;
        psi.Environment["DOTNET_CLI_HOME"] = home;
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["POWERSHELL_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["POWERSHELL_UPDATECHECK"] = "Off";
        return Run(psi, timeout ?? TimeSpan.FromMinutes(2));
    }

    /// <summary>
    /// Starts pwsh with the built module as the current user (root here), without waiting: for tests that need a
    /// live pwsh process to kill. Standard output is redirected; the caller disposes the process.
    /// </summary>
    public static Process StartPwsh(string script)
    {
        string dll = FindPwshDll() ?? throw new InvalidOperationException("pwsh not restored");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { dll, "-NoProfile", "-NonInteractive", "-Command",
                     $"Import-Module '{TestPaths.ModuleDirectory}/KernelDebug.psd1'; {script}" })
            psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["POWERSHELL_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["POWERSHELL_UPDATECHECK"] = "Off";
        return Process.Start(psi)!;
    }

    /// <summary>Runs a process and collects its output, killing it after <paramref name="timeout"/>.</summary>
    public static ProcessResult Run(ProcessStartInfo psi, TimeSpan timeout)
    {
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
        }
        return new ProcessResult(p.ExitCode, stdout.Result, stderr.Result);
    }

    private static string? FindPwshDll()
    {
        string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string dir = Path.Combine(packages, "powershell");
        if (!Directory.Exists(dir)) return null;
        return Directory.EnumerateFiles(dir, "pwsh.dll", SearchOption.AllDirectories).Where(f => f.Contains("/unix/")).OrderDescending().FirstOrDefault();
    }

    private static string PreparePwsh()
    {
        lock (Gate)
        {
            if (_pwshDll is not null) return _pwshDll;
            string src = Path.GetDirectoryName(FindPwshDll() ?? throw new InvalidOperationException("pwsh not restored"))!;
            string version = new DirectoryInfo(src).Parent!.Parent!.Parent!.Parent!.Name;
            string dest = Path.Combine(Path.GetTempPath(), $"kd-pwsh-{version}");
            if (!File.Exists(Path.Combine(dest, ".complete")))
            {
                CopyTree(src, dest);
                File.WriteAllText(Path.Combine(dest, ".complete"), "");
            }
            Chmod(dest, "-R a+rX");
            return _pwshDll = Path.Combine(dest, "pwsh.dll");
        }
    }

    // Copied once per test process: deleting and recopying on every call broke a pwsh of a parallel test that was
    // importing the module from the same folder at that moment (CommandNotFoundException).
    private static string? _moduleCopy;

    private static string PrepareModule()
    {
        lock (Gate)
        {
            if (_moduleCopy is not null) return _moduleCopy;
            string dest = Path.Combine(Path.GetTempPath(), $"kd-module-{Environment.ProcessId}");
            if (Directory.Exists(dest)) Directory.Delete(dest, true);
            CopyTree(TestPaths.ModuleDirectory, dest);
            Chmod(dest, "-R a+rX");
            return _moduleCopy = dest;
        }
    }

    private static void CopyTree(string src, string dest)
    {
        foreach (var f in Directory.EnumerateFiles(src, "*", SearchOption.AllDirectories))
        {
            string d = Path.Combine(dest, Path.GetRelativePath(src, f));
            Directory.CreateDirectory(Path.GetDirectoryName(d)!);
            File.Copy(f, d, overwrite: true);
        }
    }

    private static void Chmod(string path, string mode)
    {
        var psi = new ProcessStartInfo("chmod") { UseShellExecute = false };
        foreach (var a in mode.Split(' ')) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add(path);
        Process.Start(psi)!.WaitForExit();
    }
}
