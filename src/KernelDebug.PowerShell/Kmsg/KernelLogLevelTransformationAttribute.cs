using System.Collections;
using System.Globalization;
using System.Management.Automation;
using KernelDebug.Core.Kmsg;

namespace KernelDebug.PowerShell.Kmsg;

/// <summary>
/// Lets -Level and -MinimumLevel take a level the way people write it: the enum name (Warning), dmesg's short name
/// (warn, err, crit, emerg), or the number (4).
/// </summary>
internal sealed class KernelLogLevelTransformationAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        object value = inputData is PSObject ps ? ps.BaseObject : inputData;
        if (value is string or int or long or KernelLogLevel) return Convert(value);
        if (value is IEnumerable items)
            return items.Cast<object>().Select(o => Convert(o is PSObject p ? p.BaseObject : o)).ToArray();
        return Convert(value);
    }

    private static KernelLogLevel Convert(object value)
    {
        switch (value)
        {
            case KernelLogLevel l: return l;
            case int or long or short or byte:
                long n = System.Convert.ToInt64(value, CultureInfo.InvariantCulture);
                if (n is >= 0 and <= 7) return (KernelLogLevel)n;
                break;
            case string s:
                if (TryParse(s, out var level)) return level;
                break;
        }
        throw new ArgumentTransformationMetadataException(
            $"'{value}' is not a kernel log level. Use a name (Emergency, Alert, Critical, Error, Warning, Notice, Info, Debug), dmesg's short name (emerg, alert, crit, err, warn, notice, info, debug) or a number 0-7.");
    }

    /// <summary>Parses a level name, short name or number.</summary>
    public static bool TryParse(string s, out KernelLogLevel level)
    {
        s = s.Trim();
        if (int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n <= 7) { level = (KernelLogLevel)n; return true; }
        switch (s.ToLowerInvariant())
        {
            case "emerg" or "panic": level = KernelLogLevel.Emergency; return true;
            case "crit": level = KernelLogLevel.Critical; return true;
            case "err" or "error": level = KernelLogLevel.Error; return true;
            case "warn" or "warning": level = KernelLogLevel.Warning; return true;
        }
        return Enum.TryParse(s, ignoreCase: true, out level) && Enum.IsDefined(level);
    }
}
