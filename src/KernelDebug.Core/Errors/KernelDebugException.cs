namespace KernelDebug.Core.Errors;

/// <summary>
/// What kind of failure an error is. Mirrors the names of PowerShell's ErrorCategory so the
/// PowerShell layer maps it one to one without Core depending on PowerShell.
/// </summary>
public enum KernelErrorCategory
{
    /// <summary>No better category fits.</summary>
    NotSpecified,
    /// <summary>A file or object the command needs does not exist.</summary>
    ObjectNotFound,
    /// <summary>The caller lacks a privilege or capability.</summary>
    PermissionDenied,
    /// <summary>The kernel lacks a feature or configuration option.</summary>
    NotImplemented,
    /// <summary>A resource (mount, device) is not available.</summary>
    ResourceUnavailable,
    /// <summary>The input could not be parsed.</summary>
    ParserError,
    /// <summary>An argument is not valid.</summary>
    InvalidArgument,
    /// <summary>The kernel or a file returned data in an unexpected form.</summary>
    InvalidData,
    /// <summary>An operation failed while the kernel or the library executed it.</summary>
    InvalidOperation,
    /// <summary>A device or file could not be read or written.</summary>
    ReadError,
    /// <summary>Writing to the kernel failed.</summary>
    WriteError,
    /// <summary>A limit was reached.</summary>
    LimitsExceeded,
    /// <summary>An operation was stopped.</summary>
    OperationStopped,
    /// <summary>A resource is in use by someone else.</summary>
    ResourceBusy,
    /// <summary>A result did not meet what was asserted (a health assertion failed).</summary>
    InvalidResult,
}

/// <summary>
/// Base of every error Core raises on purpose: a stable <see cref="ErrorId"/>, a category and the remedy
/// a user can act on (which capability, which mount command, which CONFIG_ option).
/// </summary>
public class KernelDebugException : Exception
{
    /// <summary>Creates an error.</summary>
    public KernelDebugException(string errorId, KernelErrorCategory category, string message,
        string? remedy = null, object? target = null, Exception? inner = null)
        : base(message, inner)
    {
        ErrorId = errorId;
        Category = category;
        Remedy = remedy;
        Target = target;
    }

    /// <summary>Stable identifier, e.g. <c>KernelFileNotFound</c>.</summary>
    public string ErrorId { get; }

    /// <summary>The kind of failure.</summary>
    public KernelErrorCategory Category { get; }

    /// <summary>What the user can do about it, or null.</summary>
    public string? Remedy { get; }

    /// <summary>The file, feature or object the error is about.</summary>
    public object? Target { get; }
}

/// <summary>Factory methods for the errors that many readers share, so their ids and remedies are written once.</summary>
public static class KernelErrors
{
    /// <summary>A kernel file is missing; <paramref name="providedBy"/> says what creates it.</summary>
    public static KernelDebugException FileNotFound(string path, string providedBy) =>
        new("KernelFileNotFound", KernelErrorCategory.ObjectNotFound,
            $"'{path}' does not exist.", $"This file is provided by {providedBy}.", path);

    /// <summary>Reading a kernel file was refused.</summary>
    public static KernelDebugException AccessDenied(string path, string remedy, Exception? inner = null) =>
        new("KernelFileAccessDenied", KernelErrorCategory.PermissionDenied,
            $"Access to '{path}' was denied.", remedy, path, inner);

    /// <summary>The kernel lacks a feature; <paramref name="remedy"/> names the CONFIG_ option or module.</summary>
    public static KernelDebugException FeatureMissing(string errorId, string feature, string remedy, object? target = null) =>
        new(errorId, KernelErrorCategory.NotImplemented, $"This kernel does not provide {feature}.", remedy, target ?? feature);

    /// <summary>An operation was refused because a privilege is missing.</summary>
    public static KernelDebugException PrivilegeRequired(string errorId, string what, string remedy, object? target = null) =>
        new(errorId, KernelErrorCategory.PermissionDenied, $"{what} requires privileges this process does not have.", remedy, target);
}
