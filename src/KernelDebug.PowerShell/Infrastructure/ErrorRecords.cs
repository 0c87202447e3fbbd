using System.Management.Automation;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Parsing;

namespace KernelDebug.PowerShell.Infrastructure;

/// <summary>The one place where Core errors become PowerShell ErrorRecords.</summary>
internal static class ErrorRecords
{
    /// <summary>Maps a Core error: its ErrorId, category, target, and the remedy as RecommendedAction.</summary>
    public static ErrorRecord From(KernelDebugException e)
    {
        var category = Enum.TryParse<ErrorCategory>(e.Category.ToString(), out var c) ? c : ErrorCategory.NotSpecified;
        var record = new ErrorRecord(e, e.ErrorId, category, e.Target);
        string message = e.Remedy is null ? e.Message : $"{e.Message} {e.Remedy}";
        record.ErrorDetails = new ErrorDetails(message) { RecommendedAction = e.Remedy };
        return record;
    }

    /// <summary>An error for an exception Core did not expect, so it still carries an id.</summary>
    public static ErrorRecord Unexpected(Exception e, string errorId, object? target = null) =>
        e is KernelDebugException k ? From(k) : new ErrorRecord(e, errorId, ErrorCategory.NotSpecified, target);

    /// <summary>The warning text for a parse issue: file, line, what was wrong.</summary>
    public static string Warning(ParseIssue issue) => issue.ToString();
}
