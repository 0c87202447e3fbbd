namespace KernelDebug.TestSupport;

/// <summary>Where the repository, its fixtures and the shared corpora are, found from the test binary's folder.</summary>
public static class TestPaths
{
    private static readonly Lazy<string> RepoRootLazy = new(() =>
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "KernelDebug.slnx"))) return d.FullName;
        throw new InvalidOperationException($"KernelDebug.slnx not found above {AppContext.BaseDirectory}");
    });

    /// <summary>The repository root (the folder holding KernelDebug.slnx).</summary>
    public static string RepoRoot => RepoRootLazy.Value;

    /// <summary><c>tests/fixtures</c>.</summary>
    public static string Fixtures => Path.Combine(RepoRoot, "tests", "fixtures");

    /// <summary>A fixture file or folder under <c>tests/fixtures</c>.</summary>
    public static string Fixture(params string[] parts) => Path.Combine([Fixtures, .. parts]);

    /// <summary>
    /// <c>shared/fixtures</c> (the crash-report corpus) beside the repository, as laid for sessions and CI, or beside a
    /// folder above it (a git worktree under <c>wt/</c> shares its main checkout's corpus).
    /// </summary>
    public static string SharedFixtures => SharedFixturesLazy.Value;

    private static readonly Lazy<string> SharedFixturesLazy = new(() =>
    {
        string beside = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "fixtures"));
        for (var d = new DirectoryInfo(RepoRoot).Parent; d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, "shared", "fixtures");
            if (Directory.Exists(candidate)) return candidate;
        }
        return beside;
    });

    /// <summary>The built module folder (<c>out/KernelDebug</c>), present after <c>build.ps1 Build</c>.</summary>
    public static string ModuleDirectory => Path.Combine(RepoRoot, "out", "KernelDebug");
}
