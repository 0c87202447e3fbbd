using System.Diagnostics;
using System.Globalization;
using System.Text;
using KernelDebug.Core.Kmsg;

namespace KernelDebug.TestSupport;

/// <summary>One entry of a journal export stream (systemd's Journal Export Format).</summary>
public sealed record ExportEntry(string BootId, long RealtimeUsec, long MonotonicUsec, IReadOnlyDictionary<string, string> Fields)
{
    public string? Message => Fields.TryGetValue("MESSAGE", out var m) ? m : null;
}

/// <summary>
/// Real journal files for tests: export-format streams built here, written by systemd-journal-remote into a private
/// directory (never the live journal, never /dev/kmsg), and journalctl --file as the oracle.
/// </summary>
public sealed class JournalFixture : IDisposable
{
    public const string JournalRemote = "/lib/systemd/systemd-journal-remote";
    public const string MachineId = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

    public string Directory { get; }

    private JournalFixture(string dir) => Directory = dir;

    public static string? WhyUnavailable() =>
        File.Exists(JournalRemote) ? null : "systemd-journal-remote is not installed (apt-get install systemd-journal-remote; build.ps1 Bootstrap installs it)";

    public static JournalFixture Create()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"kd-journal-{Environment.ProcessId}-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(dir);
        return new JournalFixture(dir);
    }

    /// <summary>Writes the entries into a journal file at <paramref name="relative"/> (must end in .journal) with systemd-journal-remote.</summary>
    public string Write(string relative, IEnumerable<ExportEntry> entries)
    {
        string file = Path.Combine(Directory, relative);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        var export = Export(entries);
        var psi = new ProcessStartInfo(JournalRemote) { RedirectStandardInput = true, RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add("--output=" + file);
        psi.ArgumentList.Add("-");
        using var p = Process.Start(psi)!;
        p.StandardInput.BaseStream.Write(export);
        p.StandardInput.Close();
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0 || !File.Exists(file)) throw new InvalidOperationException($"systemd-journal-remote failed ({p.ExitCode}): {err}");
        return file;
    }

    /// <summary>The Journal Export Format: FIELD=value lines, the binary form for values with a newline, a blank line after each entry.</summary>
    public static byte[] Export(IEnumerable<ExportEntry> entries)
    {
        var ms = new MemoryStream();
        void Line(string s) => ms.Write(Encoding.UTF8.GetBytes(s + "\n"));
        foreach (var e in entries)
        {
            Line("__REALTIME_TIMESTAMP=" + e.RealtimeUsec.ToString(CultureInfo.InvariantCulture));
            Line("__MONOTONIC_TIMESTAMP=" + e.MonotonicUsec.ToString(CultureInfo.InvariantCulture));
            Line("_BOOT_ID=" + e.BootId);
            Line("_MACHINE_ID=" + MachineId);
            foreach (var (k, v) in e.Fields)
            {
                if (v.Contains('\n'))
                {
                    var b = Encoding.UTF8.GetBytes(v);
                    ms.Write(Encoding.UTF8.GetBytes(k + "\n"));
                    ms.Write(BitConverter.GetBytes((ulong)b.Length));
                    ms.Write(b);
                    ms.WriteByte((byte)'\n');
                }
                else Line(k + "=" + v);
            }
            ms.WriteByte((byte)'\n');
        }
        return ms.ToArray();
    }

    /// <summary>A kernel entry as journald stores one read from /dev/kmsg.</summary>
    public static ExportEntry Kernel(string boot, DateTimeOffset bootTime, TimeSpan uptime, string message, int priority = 6, string host = "web1") =>
        new(boot, Usec(bootTime + uptime), (long)uptime.TotalMicroseconds + 50, new Dictionary<string, string>
        {
            ["_TRANSPORT"] = "kernel", ["PRIORITY"] = priority.ToString(CultureInfo.InvariantCulture), ["SYSLOG_FACILITY"] = "0",
            ["SYSLOG_IDENTIFIER"] = "kernel", ["_SOURCE_MONOTONIC_TIMESTAMP"] = ((long)uptime.TotalMicroseconds).ToString(CultureInfo.InvariantCulture),
            ["_HOSTNAME"] = host, ["MESSAGE"] = message,
        });

    /// <summary>A user-space entry (systemd, a service).</summary>
    public static ExportEntry Service(string boot, DateTimeOffset bootTime, TimeSpan uptime, string identifier, string message, int priority = 6, string host = "web1") =>
        new(boot, Usec(bootTime + uptime), (long)uptime.TotalMicroseconds, new Dictionary<string, string>
        {
            ["_TRANSPORT"] = identifier == "systemd-journald" ? "driver" : "journal", ["PRIORITY"] = priority.ToString(CultureInfo.InvariantCulture),
            ["SYSLOG_FACILITY"] = "3", ["SYSLOG_IDENTIFIER"] = identifier, ["_PID"] = "1", ["_HOSTNAME"] = host, ["MESSAGE"] = message,
        });

    /// <summary>Kernel entries for each message of a console log (as journald would have read them from /dev/kmsg).</summary>
    public static IEnumerable<ExportEntry> KernelLines(string boot, DateTimeOffset bootTime, IEnumerable<KernelMessage> messages, TimeSpan start)
    {
        var at = start;
        foreach (var m in messages)
        {
            at = m.Uptime is { } u && u > at ? u : at + TimeSpan.FromMilliseconds(1);
            yield return Kernel(boot, bootTime, at, m.Text, m.Level is { } l ? (int)l : 4);
        }
    }

    public static long Usec(DateTimeOffset t) => (t - DateTimeOffset.UnixEpoch).Ticks / 10;

    /// <summary>Runs journalctl on the fixture's files (the oracle); returns stdout.</summary>
    public static string Journalctl(IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo("journalctl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["SYSTEMD_PAGER"] = "";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return stdout.Result;
    }

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
