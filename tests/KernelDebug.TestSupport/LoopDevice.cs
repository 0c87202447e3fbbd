using System.Diagnostics;

namespace KernelDebug.TestSupport;

/// <summary>
/// A loop block device over a temporary file (losetup), for live block I/O tests: known I/O on a disk nobody else
/// uses. Dispose detaches it and deletes the file, also when the test failed.
/// </summary>
public sealed class LoopDevice : IDisposable
{
    private readonly string _file;
    private bool _disposed;

    private LoopDevice(string file, string device)
    {
        _file = file;
        Device = device;
    }

    /// <summary>/dev/loopN.</summary>
    public string Device { get; }
    /// <summary>loopN: the name under /sys/block.</summary>
    public string Name => Path.GetFileName(Device);

    /// <summary>Why loop devices cannot be made here (not root, no losetup, no loop driver), or null when they can.</summary>
    public static string? WhyUnavailable()
    {
        if (Environment.UserName != "root") return "loop devices need root";
        if (!File.Exists("/usr/sbin/losetup") && !File.Exists("/sbin/losetup") && !File.Exists("/usr/bin/losetup")) return "losetup is not installed";
        return null;
    }

    /// <summary>Creates a file of <paramref name="sizeBytes"/> and attaches a free loop device to it.</summary>
    public static LoopDevice Create(long sizeBytes = 64L << 20)
    {
        string file = Path.Combine(Path.GetTempPath(), $"kd-loop-{Environment.ProcessId}-{Guid.NewGuid():N}.img");
        using (var f = File.Create(file)) f.SetLength(sizeBytes);
        try
        {
            var r = Run("losetup", $"-f --show {file}");
            if (r.ExitCode != 0) throw new InvalidOperationException($"losetup failed: {r.StdErr}");
            return new LoopDevice(file, r.StdOut.Trim());
        }
        catch
        {
            File.Delete(file);
            throw;
        }
    }

    /// <summary>Writes <paramref name="count"/> blocks of <paramref name="blockSize"/> bytes with O_DIRECT (dd oflag=direct).</summary>
    public void WriteDirect(int count, int blockSize)
    {
        var r = Run("dd", $"if=/dev/zero of={Device} bs={blockSize} count={count} oflag=direct status=none");
        if (r.ExitCode != 0) throw new InvalidOperationException($"dd failed: {r.StdErr}");
    }

    /// <summary>Reads <paramref name="count"/> blocks of <paramref name="blockSize"/> bytes with O_DIRECT (dd iflag=direct).</summary>
    public void ReadDirect(int count, int blockSize)
    {
        var r = Run("dd", $"if={Device} of=/dev/null bs={blockSize} count={count} iflag=direct status=none");
        if (r.ExitCode != 0) throw new InvalidOperationException($"dd failed: {r.StdErr}");
    }

    private static ProcessResult Run(string file, string args) =>
        Unprivileged.Run(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false }, TimeSpan.FromSeconds(60));

    /// <summary>Detaches the device and deletes the file.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        // udev may still hold the device open for a moment after a write: retry briefly.
        for (int i = 0; i < 20; i++)
        {
            if (Run("losetup", $"-d {Device}").ExitCode == 0) break;
            Thread.Sleep(100);
        }
        try { File.Delete(_file); } catch (IOException) { }
    }
}
