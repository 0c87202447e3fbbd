#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Builds, tests, benchmarks and packages KernelDebug.
.DESCRIPTION
    Tasks run in the order given; each one is idempotent and quick when nothing changed.
      Bootstrap  apt packages (clang, llvm, libbpf, bpftool, and what tests and benchmarks use), the pinned
                 pwsh (dotnet tool restore) and Pester from NuGet.
      Build      compiles the BPF programs and the assemblies and lays out out/KernelDebug (manifest,
                 assemblies, formats, en-US MAML help made from the cmdlets' XML docs).
      Test       xunit (Core and PowerShell) and Pester; prints passed/failed/skipped per suite and the closing
                 line 'N passed, N failed, N skipped'; exits non-zero on any failure.
      Bench      benchmarks in bench/*.Bench.ps1, each printing KernelDebug beside its peer tool.
      Report     the main job: the kernel health report.
      Package    a .nupkg of the module folder in out/packages.
    Report, Test, Bench and Package bootstrap and build first.
.EXAMPLE
    dotnet tool restore && dotnet pwsh -NoProfile -File ./build.ps1 Report
.EXAMPLE
    dotnet tool restore && dotnet pwsh -NoProfile -File ./build.ps1 Test
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0, ValueFromRemainingArguments)]
    [ValidateSet('Bootstrap', 'Build', 'Help', 'Test', 'Bench', 'Report', 'Package', 'Clean')]
    [string[]] $Task = @('Build'),

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Only run tests whose name matches (xunit filter expression and Pester -FullNameFilter).
    [string] $TestFilter,

    # Only run benchmarks whose file name matches (wildcard, e.g. 'Syscall*').
    [string] $BenchFilter = '*'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$Root = $PSScriptRoot
$Out = Join-Path $Root 'out'
$ModuleDir = Join-Path $Out 'KernelDebug'
$PesterVersion = '5.7.1'

# apt packages: what building needs, what tests drive, and the peer tools benchmarks compare against.
$AptBuild = @('clang', 'llvm', 'libbpf-dev', 'libbpf1', 'bpftool', 'make', 'libcapstone4')
$AptTest = @('trace-cmd', 'util-linux', 'procps', 'chromium', 'openssh-server', 'gzip', 'strace', 'binutils', 'binutils-aarch64-linux-gnu', 'binutils-arm-linux-gnueabi', 'systemd-journal-remote')
$AptBench = @('libbpf-tools', 'bpftrace', 'linux-perf', 'python3', 'hyperfine', 'time')

# Plain text in logs (CI), colours on a terminal.
if ([Console]::IsOutputRedirected) { $env:NO_COLOR = '1'; $PSStyle.OutputRendering = 'PlainText' }

function Write-Step([string] $Text) { Write-Host "==> $Text" -ForegroundColor Cyan }

# The pinned pwsh runs as 'dotnet pwsh.dll'; child scripts run in the same one, so no other pwsh is needed.
function Invoke-Pwsh {
    param([Parameter(ValueFromRemainingArguments)] [string[]] $Arguments)
    & dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive @Arguments
}

function Invoke-Native {
    param([string] $File, [string[]] $Arguments, [switch] $AllowFailure)
    & $File @Arguments
    if ($LASTEXITCODE -ne 0 -and -not $AllowFailure) { throw "$File $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

function Get-NuGetPackageFolder {
    if ($env:NUGET_PACKAGES) { return $env:NUGET_PACKAGES }
    $line = dotnet nuget locals global-packages --list | Select-Object -First 1
    return ($line -replace '^global-packages:\s*', '').Trim()
}

function Get-PesterManifest {
    Join-Path (Get-NuGetPackageFolder) "pester/$PesterVersion/tools/Pester.psd1"
}

function Install-AptPackage([string[]] $Names) {
    $missing = @($Names | Where-Object {
            # A package dpkg has never seen prints nothing: treat that as missing too.
            [string] $status = dpkg-query -W -f='${Status}' $_ 2>$null
            $status -notmatch 'install ok installed'
        })
    if ($missing.Count -eq 0) { return }
    if ((id -u) -ne '0') { throw "apt packages missing ($($missing -join ', ')) and this is not root: install them with 'sudo apt-get install $($missing -join ' ')'." }
    Write-Step "apt-get install $($missing -join ' ')"
    $env:DEBIAN_FRONTEND = 'noninteractive'
    Invoke-Native apt-get @('update', '-qq')
    Invoke-Native apt-get (@('install', '-y', '-qq', '--no-install-recommends') + $missing)
}

function Invoke-Bootstrap([string[]] $For) {
    $packages = $AptBuild
    if ($For -contains 'Test' -or $For -contains 'Report') { $packages += $AptTest }
    if ($For -contains 'Bench') { $packages += $AptTest + $AptBench }
    Install-AptPackage ($packages | Select-Object -Unique)
    Push-Location $Root
    try { Invoke-Native dotnet @('tool', 'restore') | Out-Null } finally { Pop-Location }
    if (-not (Test-Path (Get-PesterManifest))) {
        Write-Step "Pester $PesterVersion from NuGet"
        Invoke-Native dotnet @('restore', (Join-Path $Root 'tools/restore/Tools.csproj'), '-v', 'q') | Out-Null
    }
}

function Invoke-Build {
    Write-Step "dotnet build ($Configuration)"
    Invoke-Native dotnet @('build', (Join-Path $Root 'KernelDebug.slnx'), '-c', $Configuration, '-v', 'q', '-nologo', '-clp:ErrorsOnly')
    $bin = Join-Path $Root "src/KernelDebug.PowerShell/bin/$Configuration/net10.0"
    New-Item -ItemType Directory -Force -Path $ModuleDir, (Join-Path $ModuleDir 'formats'), (Join-Path $ModuleDir 'en-US') | Out-Null
    foreach ($f in 'KernelDebug.PowerShell.dll', 'KernelDebug.Core.dll', 'KernelDebug.PowerShell.xml', 'KernelDebug.Core.xml') {
        Copy-IfNewer (Join-Path $bin $f) (Join-Path $ModuleDir $f)
    }
    # Core's NuGet dependencies (Iced, the x86 decoder of crash reports' Code: bytes) load from the module folder.
    foreach ($f in 'Iced.dll') {
        Copy-IfNewer (Join-Path $Root "src/KernelDebug.Core/bin/$Configuration/net10.0/$f") (Join-Path $ModuleDir $f)
    }
    Copy-IfNewer (Join-Path $Root 'KernelDebug.psd1') (Join-Path $ModuleDir 'KernelDebug.psd1')
    foreach ($f in Get-ChildItem (Join-Path $Root 'formats') -Filter *.ps1xml) {
        Copy-IfNewer $f.FullName (Join-Path $ModuleDir "formats/$($f.Name)")
    }
    foreach ($f in Get-ChildItem (Join-Path $Root 'docs') -Filter 'about_*.help.txt' -ErrorAction SilentlyContinue) {
        Copy-IfNewer $f.FullName (Join-Path $ModuleDir "en-US/$($f.Name)")
    }
    Invoke-Help
}

function Copy-IfNewer([string] $From, [string] $To) {
    if (-not (Test-Path $To) -or (Get-Item $From).LastWriteTimeUtc -gt (Get-Item $To).LastWriteTimeUtc) {
        Copy-Item $From $To -Force
    }
}

function Invoke-Help {
    $dll = Join-Path $ModuleDir 'KernelDebug.PowerShell.dll'
    $maml = Join-Path $ModuleDir 'en-US/KernelDebug.PowerShell.dll-Help.xml'
    $generator = Join-Path $Root 'tools/New-MamlHelp.ps1'
    $about = Join-Path $ModuleDir 'en-US/about_KernelHealthChecks.help.txt'
    if ((Test-Path $maml) -and (Test-Path $about) -and (Get-Item $maml).LastWriteTimeUtc -gt (Get-Item $dll).LastWriteTimeUtc -and
        (Get-Item $maml).LastWriteTimeUtc -gt (Get-Item $generator).LastWriteTimeUtc) { return }
    Write-Step 'MAML help from XML docs'
    # A child pwsh, so this process never loads the module it just built.
    Invoke-Pwsh -File $generator -ModulePath $ModuleDir -OutFile $maml
    if ($LASTEXITCODE -ne 0) { throw 'Help generation failed: every cmdlet needs a synopsis, a description and two examples.' }
}

function Invoke-Test {
    # tests/pester/ZZ.KernelLogLeftAlone.Tests.ps1 checks the kernel log from here on for reports the suite wrote.
    $env:KERNELDEBUG_TEST_START = [DateTimeOffset]::Now.ToString('o')
    $results = Join-Path $Out 'TestResults'
    if (Test-Path $results) { Remove-Item -Recurse -Force $results }
    New-Item -ItemType Directory -Force -Path $results | Out-Null
    $suites = [System.Collections.Generic.List[object]]::new()
    foreach ($project in 'KernelDebug.Core.Tests', 'KernelDebug.PowerShell.Tests') {
        Write-Step "xunit: $project"
        $trx = "$project.trx"
        $dotnetArgs = @('test', (Join-Path $Root "tests/$project/$project.csproj"), '-c', $Configuration, '--no-build', '-nologo',
            '--logger', "trx;LogFileName=$trx", '--logger', 'console;verbosity=minimal', '--results-directory', $results)
        if ($TestFilter) { $dotnetArgs += @('--filter', $TestFilter) }
        & dotnet @dotnetArgs
        $suites.Add((Read-TrxResult (Join-Path $results $trx) $project))
    }
    Write-Step 'Pester'
    $pesterOut = Join-Path $results 'pester.json'
    $runner = Join-Path $Root 'tests/pester/Invoke-PesterSuite.ps1'
    Invoke-Pwsh -File $runner -PesterManifest (Get-PesterManifest) `
        -ModulePath $ModuleDir -TestPath ((Join-Path $Root 'tests/pester'), (Join-Path $Root 'examples/runbooks') -join [IO.Path]::PathSeparator) -ResultFile $pesterOut -Filter $TestFilter
    if (Test-Path $pesterOut) {
        $suites.Add((Get-Content $pesterOut -Raw | ConvertFrom-Json))
    }
    else {
        $suites.Add([pscustomobject]@{ Suite = 'Pester'; Passed = 0; Failed = 1; Skipped = 0; SkipReasons = @(); Failures = @('Pester did not run') })
    }

    Write-Host ''
    Write-Host 'Test summary'
    foreach ($s in $suites) {
        Write-Host ('  {0,-32} {1,5} passed, {2,3} failed, {3,3} skipped' -f $s.Suite, $s.Passed, $s.Failed, $s.Skipped)
        foreach ($r in @($s.SkipReasons)) { Write-Host "      skipped: $r" }
        foreach ($r in @($s.Failures)) { Write-Host "      FAILED: $r" -ForegroundColor Red }
    }
    $passed = ($suites | Measure-Object Passed -Sum).Sum
    $failed = ($suites | Measure-Object Failed -Sum).Sum
    $skipped = ($suites | Measure-Object Skipped -Sum).Sum
    if ($passed + $failed -eq 0) { $failed = 1; Write-Host 'No test ran.' -ForegroundColor Red }
    Write-Host ''
    Write-Host "$passed passed, $failed failed, $skipped skipped"
    if ($failed -gt 0) { exit 1 }
}

function Read-TrxResult([string] $Path, [string] $Suite) {
    if (-not (Test-Path $Path)) {
        return [pscustomobject]@{ Suite = $Suite; Passed = 0; Failed = 1; Skipped = 0; SkipReasons = @(); Failures = @("no results file ($Path): the test run crashed or did not start") }
    }
    [xml] $x = Get-Content $Path -Raw
    $ns = @{ t = 'http://microsoft.com/schemas/VisualStudio/TeamTest/2010' }
    $rows = Select-Xml -Xml $x -XPath '//t:UnitTestResult' -Namespace $ns | ForEach-Object Node
    $skips = @($rows | Where-Object outcome -eq 'NotExecuted' | ForEach-Object {
            # xunit writes the skip reason as the result's error message; older adapters put it in StdOut.
            $reason = $_.SelectSingleNode('.//*[local-name()="ErrorInfo"]/*[local-name()="Message"]')
            if (-not $reason) { $reason = $_.SelectSingleNode('.//*[local-name()="StdOut"]') }
            $text = if ($reason) { ($reason.InnerText -split "`n" | Where-Object { $_ -match '\S' } | Select-Object -First 1) } else { '' }
            "$($_.testName): $text".Trim()
        })
    [pscustomobject]@{
        Suite       = $Suite
        Passed      = @($rows | Where-Object outcome -eq 'Passed').Count
        Failed      = @($rows | Where-Object { $_.outcome -notin 'Passed', 'NotExecuted' }).Count
        Skipped     = $skips.Count
        SkipReasons = $skips
        Failures    = @($rows | Where-Object { $_.outcome -notin 'Passed', 'NotExecuted' } | ForEach-Object testName)
    }
}

# Every benchmark runs; a benchmark that fails (throws, a peer missing, a workload failing) fails the task at the end.
function Invoke-Bench {
    $failed = @(foreach ($b in Get-ChildItem (Join-Path $Root 'bench') -Filter '*.Bench.ps1' | Where-Object Name -like $BenchFilter | Sort-Object Name) {
            Write-Step "bench: $($b.BaseName)"
            # Out-Host: the benchmark's tables must print, not become entries of the failed list.
            Invoke-Pwsh -File $b.FullName -ModulePath $ModuleDir | Out-Host
            if ($LASTEXITCODE -ne 0) { Write-Host "bench $($b.Name) FAILED (exit code $LASTEXITCODE)" -ForegroundColor Red; $b.Name }
        })
    if ($failed) { Write-Host "benchmarks failed: $($failed -join ', ')" -ForegroundColor Red; exit 1 }
}

function Invoke-Report {
    Invoke-Pwsh -File (Join-Path $Root 'tools/Invoke-Report.ps1') -ModulePath $ModuleDir -OutDirectory $Out
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
}

function Invoke-Package {
    Invoke-Pwsh -File (Join-Path $Root 'tools/New-ModulePackage.ps1') -ModulePath $ModuleDir -OutDirectory (Join-Path $Out 'packages')
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
}

$needsBuild = $Task | Where-Object { $_ -in 'Test', 'Bench', 'Report', 'Package', 'Help' }
foreach ($t in @(if ($needsBuild -or $Task -contains 'Build') { 'Bootstrap' }) + @(if ($needsBuild -and $Task -notcontains 'Build') { 'Build' }) + $Task | Select-Object -Unique) {
    switch ($t) {
        'Bootstrap' { Invoke-Bootstrap -For $Task }
        'Build' { Invoke-Build }
        'Help' { Invoke-Help }
        'Test' { Invoke-Test }
        'Bench' { Invoke-Bench }
        'Report' { Invoke-Report }
        'Package' { Invoke-Package }
        'Clean' { if (Test-Path $Out) { Remove-Item -Recurse -Force $Out } }
    }
}
