#!/usr/bin/env pwsh
# How long 'Import-Module KernelDebug' adds to a pwsh start: the median of N runs of
# 'dotnet pwsh.dll -NoProfile -c exit' against the same with the import. Goal: at most ~150 ms.
# The two kinds of run alternate, so a busy machine slows both alike.
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [int] $Runs = 10
)
$ErrorActionPreference = 'Stop'
$pwshDll = Join-Path $PSHOME 'pwsh.dll'
$manifest = (Resolve-Path (Join-Path $ModulePath 'KernelDebug.psd1')).ProviderPath
$import = "Import-Module '$manifest' -ErrorAction Stop; exit"

function Measure-Run([string] $Command) {
    $sw = [Diagnostics.Stopwatch]::StartNew()
    & dotnet $pwshDll -NoProfile -NonInteractive -Command $Command | Out-Null
    $sw.Stop()
    if ($LASTEXITCODE -ne 0) { throw "pwsh -c '$Command' exited with $LASTEXITCODE" }
    $sw.Elapsed.TotalMilliseconds
}

function Get-Median([double[]] $Values) {
    $s = @($Values | Sort-Object)
    if ($s.Count % 2) { $s[[int][math]::Floor($s.Count / 2)] } else { ($s[$s.Count / 2 - 1] + $s[$s.Count / 2]) / 2 }
}

# Warm-up: the first run of each pays for a cold page cache.
$null = Measure-Run 'exit'
$null = Measure-Run $import
$bare = [Collections.Generic.List[double]]::new()
$with = [Collections.Generic.List[double]]::new()
$diff = [Collections.Generic.List[double]]::new()
foreach ($i in 1..$Runs) {
    $b = Measure-Run 'exit'
    $w = Measure-Run $import
    $bare.Add($b); $with.Add($w); $diff.Add($w - $b)
}
$added = Get-Median $diff
$load = (Get-Content /proc/loadavg -ErrorAction SilentlyContinue) -split ' ' | Select-Object -First 1
'{0,-38} {1,8:N0} ms (median of {2}; load average {3})' -f 'pwsh start (peer: -NoProfile -c exit)', (Get-Median $bare), $Runs, $load
'{0,-38} {1,8:N0} ms' -f 'pwsh start + Import-Module KernelDebug', (Get-Median $with)
'{0,-38} {1,8:N0} ms (median of paired runs; goal <= 150 ms) {2}' -f 'KernelDebug import adds', $added, $(if ($added -le 150) { 'OK' } else { 'OVER' })

# The same, timed inside pwsh (no process start noise): what Import-Module itself costs.
$inProcess = foreach ($i in 1..$Runs) {
    [double](& dotnet $pwshDll -NoProfile -NonInteractive -Command "(Measure-Command { Import-Module '$manifest' -ErrorAction Stop }).TotalMilliseconds")
}
'{0,-38} {1,8:N0} ms (median, Measure-Command inside pwsh)' -f 'Import-Module alone', (Get-Median $inProcess)
