using KernelDebug.Core.Errors;
using KernelDebug.Core.Native;

namespace KernelDebug.Core.Tracing;

/// <summary>How function calls can be counted on this kernel.</summary>
public enum FunctionTracingMethod
{
    /// <summary>Nothing available.</summary>
    None,
    /// <summary>The function tracer in a private instance (<c>current_tracer = function</c>, its own <c>set_ftrace_filter</c>).</summary>
    FunctionTracer,
    /// <summary>BPF fentry programs (needs BTF and the BPF engine).</summary>
    Fentry,
}

/// <summary>
/// Decides, before anything is created, whether function tracing is possible. The function tracer is refused under
/// kernel lockdown: <c>available_filter_functions</c> answers EPERM even to root and writing <c>function</c> to an
/// instance's <c>current_tracer</c> fails with EPERM. Probing reads only; nothing is written anywhere.
/// </summary>
public static class FunctionTracing
{
    /// <summary>Null when the instance function tracer can be used; otherwise the error saying why not.</summary>
    public static KernelDebugException? ProbeFunctionTracer(TraceFs fs)
    {
        string? tracers = fs.Root.TryReadText(fs.Relative("available_tracers"));
        if (tracers is null || !tracers.Split(' ', '\n').Contains("function"))
            return KernelErrors.FeatureMissing("FunctionTracerMissing", "the function tracer",
                "The kernel needs CONFIG_FUNCTION_TRACER=y (and CONFIG_DYNAMIC_FTRACE for per-function filters).", "function");
        string aff = fs.Resolve("available_filter_functions");
        int errno = fs.Root.IsLive ? LibC.Probe(aff) : (fs.Root.TryReadText(fs.Relative("available_filter_functions"), 64) is null ? LibC.EPERM : 0);
        if (errno == 0) return null;
        string? lockdown = Inventory.KernelLockdown.Read(fs.Root, () => Inventory.KernelConfigReader.TryRead(fs.Root)).Mode;
        string cause = errno is LibC.EPERM or LibC.EACCES
            ? $"the kernel refuses it: reading available_filter_functions gives '{LibC.Describe(errno)}' even to root, " +
              $"which is what kernel lockdown does{(lockdown is null ? " (lockdown=integrity or confidentiality)" : $" (lockdown is '{lockdown}')")}; " +
              "setting current_tracer to 'function' in an instance fails with EPERM the same way"
            : $"available_filter_functions cannot be read ({LibC.Describe(errno)})";
        return new KernelDebugException("FunctionTracerRefused", KernelErrorCategory.PermissionDenied,
            $"The function tracer cannot be used here: {cause}.",
            "Trace tracepoints instead (Start-FtraceCapture -Event; Get-KernelTracepoint lists them), or boot with lockdown=none. " +
            "BPF fentry would work under lockdown=integrity but needs KernelDebug's BPF engine.", aff);
    }
}

/// <summary>Calls counted for one function.</summary>
/// <param name="Function">Symbol name, or the address in hex when it could not be symbolized.</param>
/// <param name="Address">The traced instruction pointer.</param>
/// <param name="Count">Calls seen.</param>
/// <param name="Method">How they were counted.</param>
public sealed record FunctionCallCount(string Function, ulong Address, long Count, FunctionTracingMethod Method);

/// <summary>
/// Counts function-tracer records (<c>ftrace:function</c>: <c>ip</c>, <c>parent_ip</c>) per function, the way
/// funccount does, and returns the top functions.
/// </summary>
public sealed class FunctionCallCounter
{
    private readonly Dictionary<ulong, long> _counts = new();

    /// <summary>Records counted.</summary>
    public long Total { get; private set; }

    /// <summary>Counts one event; other events than ftrace:function are ignored. Returns whether it counted.</summary>
    public bool Add(FtraceEvent ev)
    {
        if (ev.System != "ftrace" || ev.Event != "function" || ev.Fields.GetValueOrDefault("ip") is not ulong ip) return false;
        _counts[ip] = _counts.GetValueOrDefault(ip) + 1;
        Total++;
        return true;
    }

    /// <summary>The counts, largest first, symbolized by <paramref name="symbolize"/> (address → name or null).</summary>
    public IReadOnlyList<FunctionCallCount> Results(Func<ulong, string?>? symbolize, FunctionTracingMethod method, int? top = null)
    {
        var q = _counts.Select(kv => new FunctionCallCount(symbolize?.Invoke(kv.Key) ?? $"0x{kv.Key:x}", kv.Key, kv.Value, method))
            .OrderByDescending(r => r.Count).ThenBy(r => r.Function, StringComparer.Ordinal);
        return (top is int t ? q.Take(t) : q).ToArray();
    }
}
