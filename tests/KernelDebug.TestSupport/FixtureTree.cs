using KernelDebug.Core;

namespace KernelDebug.TestSupport;

/// <summary>
/// A kernel tree for one test: either a committed fixture directory (<see cref="Open"/>) or a temporary one
/// written file by file (<see cref="Create"/>), deleted on dispose. Tests read it through <see cref="Root"/>,
/// the same <see cref="KernelRoot"/> code path as the live system.
/// </summary>
public sealed class FixtureTree : IDisposable
{
    private readonly bool _owned;

    private FixtureTree(string path, bool owned)
    {
        Path = path;
        _owned = owned;
    }

    /// <summary>The directory.</summary>
    public string Path { get; }

    /// <summary>The tree as a kernel root.</summary>
    public KernelRoot Root => new(Path);

    /// <summary>A committed fixture tree under <c>tests/fixtures</c>.</summary>
    public static KernelRoot Open(params string[] parts) => new(TestPaths.Fixture(parts));

    /// <summary>A new empty temporary tree.</summary>
    public static FixtureTree Create()
    {
        string dir = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "kd-fixture-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        return new FixtureTree(dir, true);
    }

    /// <summary>A temporary copy of a committed fixture tree, to vary one file of it.</summary>
    public static FixtureTree CopyOf(params string[] parts)
    {
        var tree = Create();
        string src = TestPaths.Fixture(parts);
        foreach (var f in Directory.EnumerateFiles(src, "*", SearchOption.AllDirectories))
        {
            string dest = System.IO.Path.Combine(tree.Path, System.IO.Path.GetRelativePath(src, f));
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(dest)!);
            System.IO.File.Copy(f, dest);
        }
        return tree;
    }

    /// <summary>Writes a file (relative path such as <c>proc/meminfo</c>) and returns the tree for chaining.</summary>
    public FixtureTree File(string relative, string content)
    {
        string p = System.IO.Path.Combine(Path, relative.TrimStart('/'));
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(p)!);
        System.IO.File.WriteAllText(p, content);
        return this;
    }

    /// <summary>Reads back a file of the tree.</summary>
    public string Read(string relative) => System.IO.File.ReadAllText(System.IO.Path.Combine(Path, relative.TrimStart('/')));

    /// <inheritdoc />
    public void Dispose()
    {
        if (_owned && Directory.Exists(Path))
        {
            try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
        }
    }
}
