using KernelDebug.TestSupport;
using Xunit;

// Every test sees tracefs mounted (see TraceFsMounted).
[assembly: AssemblyFixture(typeof(TraceFsMounted))]
