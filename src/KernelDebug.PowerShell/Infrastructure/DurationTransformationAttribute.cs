using System.Globalization;
using System.Management.Automation;
using System.Reflection;
using KernelDebug.Core.Errors;

namespace KernelDebug.PowerShell.Infrastructure;

/// <summary>
/// Reads a duration the way Start-Sleep does: a bare number is seconds (3, 0.5, '3'), a time span stays one
/// (00:00:03, [timespan]), and '500ms', '3s', '2m', '1h' are accepted too. On every -Duration, -Interval,
/// -SampleInterval and -Timeout-like parameter. Zero and negatives are rejected (DurationNotPositive) by
/// <see cref="KernelCmdlet"/> before the cmdlet runs, unless <see cref="AllowZero"/> says zero means "no threshold".
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class DurationTransformationAttribute : ArgumentTransformationAttribute
{
    /// <summary>Zero is meaningful (a threshold of none); negatives are still rejected.</summary>
    public bool AllowZero { get; set; }

    /// <inheritdoc />
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        object value = inputData is PSObject ps ? ps.BaseObject : inputData;
        return value switch
        {
            null => null!,
            TimeSpan t => t,
            int or long or short or byte or uint or ulong or double or float or decimal =>
                FromSeconds(Convert.ToDouble(value, CultureInfo.InvariantCulture), value),
            string s when TryParse(s, out var t) => t,
            _ => throw new ArgumentTransformationMetadataException(
                $"'{value}' is not a duration. Pass seconds (3, 0.5), a time span (00:00:03) or a number with a unit (500ms, 3s, 2m, 1h)."),
        };
    }

    /// <summary>Parses seconds, a time span, or a number with ms/s/m/h.</summary>
    public static bool TryParse(string text, out TimeSpan value)
    {
        var s = text.Trim();
        value = default;
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double secs)) { value = FromSeconds(secs, text); return true; }
        foreach (var (suffix, scale) in Units)
            if (s.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)
                && double.TryParse(s[..^suffix.Length].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double n))
            { value = FromSeconds(n * scale, text); return true; }
        return TimeSpan.TryParse(s, CultureInfo.InvariantCulture, out value);
    }

    private static readonly (string Suffix, double Seconds)[] Units = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)];

    private static TimeSpan FromSeconds(double seconds, object original) =>
        double.IsFinite(seconds) && Math.Abs(seconds) < TimeSpan.MaxValue.TotalSeconds
            ? TimeSpan.FromTicks((long)Math.Round(seconds * TimeSpan.TicksPerSecond))
            : throw new ArgumentTransformationMetadataException($"'{original}' seconds is out of range for a duration.");

    /// <summary>
    /// The error for a bound duration that is zero or negative: one ErrorId for every cmdlet, with the remedy.
    /// Returns null when every duration parameter bound on <paramref name="cmdlet"/> is valid.
    /// </summary>
    internal static KernelDebugException? Check(PSCmdlet cmdlet)
    {
        foreach (var (name, value) in cmdlet.MyInvocation.BoundParameters)
        {
            var prop = cmdlet.GetType().GetProperty(name, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            if (prop?.GetCustomAttribute<DurationTransformationAttribute>() is not { } attr) continue;
            object v = value is PSObject p ? p.BaseObject : value;
            if (v is not TimeSpan t) continue;
            if (t > TimeSpan.Zero || (attr.AllowZero && t == TimeSpan.Zero)) continue;
            return new KernelDebugException("DurationNotPositive", KernelErrorCategory.InvalidArgument,
                $"-{prop.Name} {t} is {(t == TimeSpan.Zero ? "zero" : "negative")}{(attr.AllowZero ? "" : "; it must be positive")}.",
                $"Pass a positive duration: seconds as a number (-{prop.Name} 5 is five seconds, as Start-Sleep reads it), a time span (00:00:05) or 500ms.",
                t);
        }
        return null;
    }
}
