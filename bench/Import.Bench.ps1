#!/usr/bin/env pwsh
# How long 'Import-Module KernelDebug' adds to a pwsh start: 'dotnet pwsh.dll -NoProfile -c exit' against the same
# with the import, interleaved (BenchSupport), the difference of medians with its spread. Goal: at most ~150 ms.
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [int] $Repetitions = 10
)
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'BenchSupport.ps1')
$pwsh = Get-PwshCommand
$manifest = (Resolve-Path (Join-Path $ModulePath 'KernelDebug.psd1')).ProviderPath
$import = "Import-Module '$manifest' -ErrorAction Stop; exit"

function Measure-Run([string] $Command) {
    $sw = [Diagnostics.Stopwatch]::StartNew()
    & $pwsh.File @($pwsh.Arguments) -Command $Command | Out-Null
    $sw.Stop()
    if ($LASTEXITCODE -ne 0) { throw "pwsh -c '$Command' exited with $LASTEXITCODE" }
    $sw.Elapsed.TotalMilliseconds
}

$r = Invoke-BenchLoop -WarmUp -Repetitions $Repetitions -Variant ([ordered]@{
        'pwsh start (peer: -NoProfile -c exit)' = { Measure-Run 'exit' }
        'pwsh start + Import-Module KernelDebug' = { Measure-Run $import }
        # What Import-Module itself costs, timed inside pwsh (no process start noise).
        'Import-Module alone (Measure-Command inside pwsh)' = {
            [double](& $pwsh.File @($pwsh.Arguments) -Command "(Measure-Command { Import-Module '$manifest' -ErrorAction Stop }).TotalMilliseconds")
        }
    })
Format-BenchTable $r -Baseline 'pwsh start (peer: -NoProfile -c exit)' -Unit 'ms' -Title 'Import-Module KernelDebug'
$added = $r['pwsh start + Import-Module KernelDebug'].Stat.Median - $r['pwsh start (peer: -NoProfile -c exit)'].Stat.Median
'KernelDebug import adds {0:N0} ms to a pwsh start (goal <= 150 ms): {1}' -f $added, $(if ($added -le 150) { 'OK' } else { 'OVER' })
Get-BenchLoad
