#!/usr/bin/env pwsh
# How long 'Import-Module KernelDebug' adds to a pwsh start: the median of N runs of
# 'dotnet pwsh.dll -NoProfile -c exit' against the same with the import. Goal: at most ~150 ms.
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [int] $Runs = 10
)
$ErrorActionPreference = 'Stop'
$pwshDll = Join-Path $PSHOME 'pwsh.dll'
$manifest = (Resolve-Path (Join-Path $ModulePath 'KernelDebug.psd1')).ProviderPath

function Measure-Start([string] $Command) {
    $times = foreach ($i in 1..$Runs) {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        & dotnet $pwshDll -NoProfile -NonInteractive -Command $Command | Out-Null
        $sw.Stop()
        if ($LASTEXITCODE -ne 0) { throw "pwsh -c '$Command' exited with $LASTEXITCODE" }
        $sw.Elapsed.TotalMilliseconds
    }
    $sorted = @($times | Sort-Object)
    # Median of an even count: the mean of the two middle runs.
    if ($sorted.Count % 2) { $sorted[[int][math]::Floor($sorted.Count / 2)] } else { ($sorted[$sorted.Count / 2 - 1] + $sorted[$sorted.Count / 2]) / 2 }
}

# One warm-up run of each, so the first measured run does not pay for a cold page cache.
$import = "Import-Module '$manifest' -ErrorAction Stop; exit"
& dotnet $pwshDll -NoProfile -NonInteractive -Command $import | Out-Null
if ($LASTEXITCODE -ne 0) { throw "Import-Module '$manifest' failed" }
$bare = Measure-Start 'exit'
$withImport = Measure-Start $import
$added = $withImport - $bare
'{0,-38} {1,8:N0} ms (median of {2})' -f 'pwsh start (peer: -NoProfile -c exit)', $bare, $Runs
'{0,-38} {1,8:N0} ms' -f 'pwsh start + Import-Module KernelDebug', $withImport
'{0,-38} {1,8:N0} ms (goal <= 150 ms) {2}' -f 'KernelDebug import adds', $added, $(if ($added -le 150) { 'OK' } else { 'OVER' })

# The same, timed inside pwsh (no process start noise): what Import-Module itself costs.
$inProcess = @(foreach ($i in 1..$Runs) {
        [double](& dotnet $pwshDll -NoProfile -NonInteractive -Command "(Measure-Command { Import-Module '$manifest' -ErrorAction Stop }).TotalMilliseconds")
    }) | Sort-Object
'{0,-38} {1,8:N0} ms (median, Measure-Command inside pwsh)' -f 'Import-Module alone', $inProcess[[int][math]::Floor($inProcess.Count / 2)]
