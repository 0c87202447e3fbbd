using System.Collections;
using System.Globalization;
using System.Management.Automation;
using KernelDebug.Core.Symbols;

namespace KernelDebug.PowerShell.Infrastructure;

/// <summary>
/// Takes kernel addresses as people paste them: 0xffffffff81234567, ffffffff81234567, an unquoted literal that
/// PowerShell read as a negative Int32/Int64 (kernel addresses are sign-extended, so the bits are kept), a
/// number, or a symbol with an offset (tcp_sendmsg+0x1a/0x40 [mod]). Produces <see cref="KernelAddressText"/>.
/// </summary>
public sealed class KernelAddressTransformationAttribute : ArgumentTransformationAttribute
{
    /// <inheritdoc />
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        object value = inputData is PSObject ps ? ps.BaseObject : inputData;
        if (value is string || value is not IEnumerable items) return Convert(value);
        return items.Cast<object>().Select(o => Convert(o is PSObject p ? p.BaseObject : o)).ToArray();
    }

    private static KernelAddressText Convert(object value)
    {
        switch (value)
        {
            case KernelAddressText k: return k;
            case ulong u: return KernelAddressText.FromAddress(u);
            case uint u: return KernelAddressText.FromAddress(u);
            case int i: return KernelAddressText.FromAddress((ulong)(long)i);
            case long l: return KernelAddressText.FromAddress((ulong)l);
            case short or byte or ushort: return KernelAddressText.FromAddress(System.Convert.ToUInt64(value, CultureInfo.InvariantCulture));
            case double d when d >= 0 && d == Math.Floor(d) && d <= ulong.MaxValue: return KernelAddressText.FromAddress((ulong)d);
            case decimal m when m >= 0 && m == decimal.Floor(m) && m <= ulong.MaxValue: return KernelAddressText.FromAddress((ulong)m);
            case string s when KernelAddressText.TryParse(s, out var k): return k!;
        }
        throw new ArgumentTransformationMetadataException(
            $"'{value}' is not a kernel address. Pass hex with or without 0x (0xffffffff81234567, ffffffff81234567) or a symbol with an offset (tcp_sendmsg+0x1a/0x40).");
    }
}
