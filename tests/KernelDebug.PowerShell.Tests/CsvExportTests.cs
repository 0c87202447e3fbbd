using System.Collections;
using System.Management.Automation;
using System.Reflection;
using System.Text.RegularExpressions;
using Xunit;

namespace KernelDebug.PowerShell.Tests;

/// <summary>
/// Row 8 of issue 18: Export-Csv of every record type a cmdlet declares ([OutputType]) writes no .NET type name
/// (System.String[], List`1[...], Dictionary`2[...], "Record { ... }"): every collection and nested record prints flat.
/// </summary>
public sealed class CsvExportTests
{
    private static readonly Regex TypeName = new(@"^(System|KernelDebug)\.[\w.`\[\], ]+$|`\d\[|^\w+ \{ .* \}$", RegexOptions.Compiled);

    /// <summary>Every record type that a KernelDebug cmdlet declares as output.</summary>
    public static TheoryData<string> OutputTypes()
    {
        var asm = typeof(Infrastructure.KernelCmdlet).Assembly;
        var types = asm.GetTypes()
            .Where(t => t.GetCustomAttribute<CmdletAttribute>() is not null)
            .SelectMany(t => t.GetCustomAttributes<OutputTypeAttribute>())
            .SelectMany(a => a.Type).Select(n => n.Type)
            .Where(t => t is not null && t.Assembly.GetName().Name!.StartsWith("KernelDebug"))
            .Select(t => t!.FullName!).Distinct().Order();
        var data = new TheoryData<string>();
        foreach (var t in types) data.Add(t);
        return data;
    }

    [Theory]
    [MemberData(nameof(OutputTypes))]
    public void ExportCsv_HasNoColumnHoldingATypeName(string typeName)
    {
        var type = typeof(Core.KernelRoot).Assembly.GetType(typeName) ?? typeof(Infrastructure.KernelCmdlet).Assembly.GetType(typeName)!;
        object record = Sample(type, depth: 0)!;
        var r = PsRunner.Run("$r | ConvertTo-Csv -NoTypeInformation", new Dictionary<string, object?> { ["r"] = record });
        Assert.Null(r.Terminating);
        Assert.Equal(2, r.Output.Count);
        var header = ParseCsvLine(r.Output[0].ToString());
        var cells = ParseCsvLine(r.Output[1].ToString());
        var bad = header.Zip(cells).Where(c => TypeName.IsMatch(c.Second)).Select(c => $"{c.First}={c.Second}").ToList();
        Assert.True(bad.Count == 0, $"{type.Name}: columns holding a .NET type name: {string.Join(", ", bad)}");
    }

    private static List<string> ParseCsvLine(string line)
    {
        var cells = new List<string>();
        var m = Regex.Matches(line, "\"((?:[^\"]|\"\")*)\"");
        foreach (Match x in m) cells.Add(x.Groups[1].Value.Replace("\"\"", "\""));
        return cells;
    }

    // A value for every settable property (collections get one element), so every column has something to print.
    private static object? Sample(Type t, int depth)
    {
        var u = Nullable.GetUnderlyingType(t);
        if (u is not null) return Sample(u, depth);
        if (t == typeof(string)) return "x";
        if (t == typeof(bool)) return true;
        if (t == typeof(char)) return 'x';
        if (t.IsEnum) { var v = Enum.GetValues(t); return v.Length > 1 ? v.GetValue(1) : v.GetValue(0); }
        if (t.IsPrimitive || t == typeof(decimal)) return Convert.ChangeType(1, t);
        if (t == typeof(DateTimeOffset)) return DateTimeOffset.Now;
        if (t == typeof(DateTime)) return DateTime.Now;
        if (t == typeof(TimeSpan)) return TimeSpan.FromMilliseconds(1500);
        if (t == typeof(Guid)) return Guid.NewGuid();
        if (t == typeof(object)) return "x";
        if (depth > 4) return null;
        if (t.IsArray)
        {
            var a = Array.CreateInstance(t.GetElementType()!, 1);
            a.SetValue(Sample(t.GetElementType()!, depth + 1), 0);
            return a;
        }
        if (t.IsGenericType && t.GetGenericArguments().Length == 2 && typeof(IEnumerable).IsAssignableFrom(t))
        {
            var args = t.GetGenericArguments();
            var d = (IDictionary)Activator.CreateInstance(typeof(Dictionary<,>).MakeGenericType(args))!;
            d[Sample(args[0], depth + 1)!] = Sample(args[1], depth + 1);
            return d;
        }
        if (t.IsGenericType && typeof(IEnumerable).IsAssignableFrom(t) && t.IsInterface)
        {
            var e = t.GetGenericArguments()[0];
            var l = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(e))!;
            l.Add(Sample(e, depth + 1));
            return l;
        }
        if (t.IsInterface || t.IsAbstract) return null;
        object o = System.Runtime.CompilerServices.RuntimeHelpers.GetUninitializedObject(t);
        foreach (var p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.SetMethod is null || p.GetIndexParameters().Length > 0) continue;
            try { p.SetValue(o, Sample(p.PropertyType, depth + 1)); }
            catch (Exception e) when (e is ArgumentException or TargetInvocationException) { }
        }
        return o;
    }
}
