using System.Runtime.InteropServices;
using KernelDebug.Core.Errors;

namespace KernelDebug.Core.Bpf.Native;

/// <summary>
/// A libbpf or bpf(2) call failed with an errno. The message carries the call, strerror's text and, when loading
/// failed, the last lines libbpf and the verifier printed.
/// </summary>
public sealed class ErrnoException : KernelDebugException
{
    /// <summary>Creates the error for <paramref name="call"/> failing with <paramref name="errno"/> (positive).</summary>
    public ErrnoException(string call, int errno, string? detail = null, string? remedy = null, string errorId = "BpfCallFailed",
        KernelErrorCategory? category = null)
        : base(errorId, category ?? CategoryOf(errno),
            $"{call} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).{(string.IsNullOrEmpty(detail) ? "" : "\n" + detail)}",
            remedy ?? RemedyOf(errno), call)
    {
        Errno = errno;
        Call = call;
    }

    /// <summary>The positive errno.</summary>
    public int Errno { get; }

    /// <summary>The libbpf or bpf(2) call that failed.</summary>
    public string Call { get; }

    internal const int EPERM = 1, ENOENT = 2, E2BIG = 7, EBADF = 9, EAGAIN = 11, ENOMEM = 12, EACCES = 13, EINVAL = 22,
        ENOSPC = 28, ENOTSUPP = 524, EOPNOTSUPP = 95, ESRCH = 3;

    /// <summary>Throws when an int-returning libbpf call returned a negative errno.</summary>
    internal static int Check(int result, string call, Func<string?>? detail = null)
    {
        if (result < 0) throw new ErrnoException(call, -result, detail?.Invoke());
        return result;
    }

    /// <summary>Throws when a pointer-returning libbpf call returned NULL (the errno is in errno).</summary>
    internal static nint CheckPointer(nint result, string call, Func<string?>? detail = null)
    {
        if (result == 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new ErrnoException(call, errno == 0 ? EINVAL : errno, detail?.Invoke());
        }
        return result;
    }

    private static KernelErrorCategory CategoryOf(int errno) => errno switch
    {
        EPERM or EACCES => KernelErrorCategory.PermissionDenied,
        ENOENT or ESRCH => KernelErrorCategory.ObjectNotFound,
        ENOMEM or E2BIG or ENOSPC => KernelErrorCategory.LimitsExceeded,
        EOPNOTSUPP or ENOTSUPP => KernelErrorCategory.NotImplemented,
        _ => KernelErrorCategory.InvalidOperation,
    };

    private static string? RemedyOf(int errno) => errno switch
    {
        EPERM or EACCES => "Run as root, or grant CAP_BPF and CAP_PERFMON (e.g. 'sudo setcap cap_bpf,cap_perfmon+ep <pwsh>'); check kernel.unprivileged_bpf_disabled and lockdown.",
        ENOMEM => "On kernels before 5.11 raise the locked-memory limit: 'ulimit -l unlimited' (or LimitMEMLOCK=infinity for a service).",
        _ => null,
    };
}
