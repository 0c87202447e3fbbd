#!/usr/bin/env pwsh
# Runs the Pester suite in its own pwsh against the built module and writes a summary JSON for build.ps1.
param(
    [Parameter(Mandatory)] [string] $PesterManifest,
    [Parameter(Mandatory)] [string] $ModulePath,
    # Test folders, separated by the path separator (':'), since a child pwsh -File cannot take an array.
    [Parameter(Mandatory)] [string] $TestPath,
    [Parameter(Mandatory)] [string] $ResultFile,
    [string] $Filter
)
$ErrorActionPreference = 'Stop'
Import-Module $PesterManifest -Force
$env:KERNELDEBUG_MODULE = Join-Path $ModulePath 'KernelDebug.psd1'
# As installed: the module folder is on PSModulePath, so Get-Help finds its about_ topics.
$env:PSModulePath = (Split-Path $ModulePath) + [IO.Path]::PathSeparator + $env:PSModulePath
$config = New-PesterConfiguration
$config.Run.Path = $TestPath -split [IO.Path]::PathSeparator
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Normal'
if ($Filter) { $config.Filter.FullName = "*$Filter*" }
$r = Invoke-Pester -Configuration $config
$skips = @($r.Skipped | ForEach-Object {
        $why = if ($_.ErrorRecord) { ($_.ErrorRecord | Select-Object -First 1).ToString() } else { 'marked -Skip' }
        "$($_.ExpandedPath): $why"
    })
[pscustomobject]@{
    Suite       = 'Pester'
    Passed      = $r.PassedCount
    Failed      = $r.FailedCount + $r.FailedBlocksCount + $r.FailedContainersCount
    Skipped     = $r.SkippedCount
    SkipReasons = $skips
    Failures    = @($r.Failed | ForEach-Object ExpandedPath) + @($r.FailedContainers | ForEach-Object { "container: $($_.Item)" })
} | ConvertTo-Json -Depth 4 | Set-Content $ResultFile
