using KernelDebug.Core.Parsing;
using System.Text.Json;
using System.Text.Json.Serialization;
using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Inventory;

/// <summary>A file a snapshot could not copy, and why.</summary>
public sealed record SnapshotFailure(string Path, string Reason)
{
    /// <summary>"path: reason", for tables and CSV.</summary>
    public override string ToString() => $"{Path}: {Reason}";
}

/// <summary>
/// The description a snapshot writes at its top (<see cref="KernelRoot.SnapshotManifestName"/>): which machine,
/// when, and the facts that are not files (page size).
/// </summary>
public sealed record SnapshotManifest
{
    /// <summary>Host name of the captured machine.</summary>
    public string? HostName { get; init; }
    /// <summary>Kernel release of the captured machine.</summary>
    public string? Release { get; init; }
    /// <summary>When the snapshot was taken.</summary>
    public DateTimeOffset CapturedAt { get; init; }
    /// <summary>Page size of the captured machine, in bytes.</summary>
    public int PageSize { get; init; }
    /// <summary>Number of files copied.</summary>
    public int FileCount { get; init; }
    /// <summary>Total bytes copied.</summary>
    public long TotalBytes { get; init; }
    /// <summary>Files that could not be copied.</summary>
    public IReadOnlyList<SnapshotFailure> Failed { get; init => field = Flat.List(value); } = FlatList<SnapshotFailure>.Empty;
    /// <summary>Files that existed on the machine but were left out on purpose (too large, such as BTF), as paths below the root; readers treat them as present.</summary>
    public IReadOnlyList<string> Omitted { get; init => field = Flat.List(value); } = FlatList<string>.Empty;
    /// <summary>Number of online CPUs of the captured machine.</summary>
    public int CpuCount { get; init; }
    /// <summary>Where the snapshot was written (a directory or .tar.gz); not stored in the file.</summary>
    [JsonIgnore]
    public string? Path { get; init; }
    /// <summary>Version of KernelDebug that wrote it.</summary>
    public string? WrittenBy { get; init; }

    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>Serializes to JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Options);

    /// <summary>Reads the manifest of a snapshot root, or null when there is none or it is unreadable (said in <paramref name="ctx"/>, with the line).</summary>
    public static SnapshotManifest? TryRead(KernelRoot root, ParseContext? ctx = null)
    {
        string? text = root.TryReadText(KernelRoot.SnapshotManifestName, 1 << 20);
        if (text is null) return null;
        try { return JsonSerializer.Deserialize<SnapshotManifest>(text, Options); }
        catch (JsonException e)
        {
            // A number past its field's range (or any other bad value) makes the manifest unreadable, not the snapshot.
            ctx?.Warn(root.Resolve(KernelRoot.SnapshotManifestName), (int)Math.Min((e.LineNumber ?? -1) + 1, int.MaxValue), e.Message);
            return null;
        }
    }
}
