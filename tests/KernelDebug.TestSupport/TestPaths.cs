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

    /// <summary><c>../shared/fixtures</c> beside the repository (the crash-report corpus), as laid for sessions and CI.</summary>
    public static string SharedFixtures
    {
        get
        {
            // A git worktree sits one level deeper (/work/wt/<name>) than the main checkout (/work/main).
            string beside = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "fixtures"));
            string above = Path.GetFullPath(Path.Combine(RepoRoot, "..", "..", "shared", "fixtures"));
            return Directory.Exists(beside) || !Directory.Exists(above) ? beside : above;
        }
    }

    /// <summary>The built module folder (<c>out/KernelDebug</c>), present after <c>build.ps1 Build</c>.</summary>
    public static string ModuleDirectory => Path.Combine(RepoRoot, "out", "KernelDebug");
}
