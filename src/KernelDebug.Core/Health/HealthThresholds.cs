namespace KernelDebug.Core.Health;

/// <summary>
/// Limits the checks judge readings by. Defaults start from the origin tool's (kernel_debugger.py) and are
/// changed per run with <c>Invoke-KernelHealthCheck -Threshold @{ MemoryWarningPercent = 75 }</c>.
/// </summary>
public sealed class HealthThresholds
{
    /// <summary>Memory used (MemTotal − MemAvailable) at or above which memory is a warning.</summary>
    public double MemoryWarningPercent { get; set; } = 80;
    /// <summary>Memory used at or above which memory is critical.</summary>
    public double MemoryCriticalPercent { get; set; } = 90;
    /// <summary>Unreclaimable slab as a share of total memory at or above which it is a warning.</summary>
    public double SlabUnreclaimableWarningPercent { get; set; } = 10;
    /// <summary>Slab caches at least this large are listed (the origin tool listed caches over 1 MB).</summary>
    public long SlabCacheReportBytes { get; set; } = 1024 * 1024;
    /// <summary>I/O wait share of CPU time over the sample at or above which it is a warning.</summary>
    public double IoWaitWarningPercent { get; set; } = 20;
    /// <summary>System time share of CPU time over the sample at or above which it is a warning.</summary>
    public double SystemTimeWarningPercent { get; set; } = 30;
    /// <summary>CPU busy share over the sample at or above which it is a warning.</summary>
    public double CpuBusyWarningPercent { get; set; } = 90;
    /// <summary>1-minute load per CPU at or above which it is a warning.</summary>
    public double LoadPerCpuWarning { get; set; } = 1.0;
    /// <summary>1-minute load per CPU at or above which it is an error.</summary>
    public double LoadPerCpuError { get; set; } = 2.0;
    /// <summary>PSI 'some' avg10 percentage at or above which pressure is a warning.</summary>
    public double PressureSomeWarningPercent { get; set; } = 10;
    /// <summary>PSI 'full' avg10 percentage at or above which pressure is an error.</summary>
    public double PressureFullErrorPercent { get; set; } = 5;
    /// <summary>Number of tasks in D state at or above which it is a warning (the origin tool warned above 5).</summary>
    public int BlockedTaskWarningCount { get; set; } = 5;
    /// <summary>Seconds a task may stay in D state before it is an error by itself.</summary>
    public double BlockedTaskErrorSeconds { get; set; } = 60;
    /// <summary>Corrected memory errors at or above which EDAC is a warning (uncorrected ones are always critical).</summary>
    public long EdacCorrectedWarningCount { get; set; } = 100;
    /// <summary>Segfault lines in the log at or above which it is a segfault storm.</summary>
    public int SegfaultStormCount { get; set; } = 20;
    /// <summary>Swap used share at or above which it is a warning.</summary>
    public double SwapWarningPercent { get; set; } = 50;

    /// <summary>Names of all thresholds, for completion and error messages.</summary>
    public static IReadOnlyList<string> Names { get; } = typeof(HealthThresholds).GetProperties(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public).Select(p => p.Name).ToArray();

    /// <summary>Sets a threshold by name (case-insensitive).</summary>
    /// <exception cref="ArgumentException">Unknown name or a value of the wrong kind.</exception>
    public void Set(string name, object value)
    {
        var p = typeof(HealthThresholds).GetProperties(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public).FirstOrDefault(x => string.Equals(x.Name, name, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"Unknown threshold '{name}'. Known: {string.Join(", ", Names)}.");
        try
        {
            p.SetValue(this, Convert.ChangeType(value, p.PropertyType, System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is InvalidCastException or FormatException or OverflowException)
        {
            throw new ArgumentException($"Threshold '{p.Name}' takes a {p.PropertyType.Name}; '{value}' is not one.", e);
        }
    }
}
