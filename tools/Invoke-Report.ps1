#!/usr/bin/env pwsh
# The main job (build.ps1 Report): what this kernel is and how it is doing.
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $OutDirectory
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $ModulePath 'KernelDebug.psd1') -Force
Write-Host "`n== Kernel" -ForegroundColor Cyan
Get-KernelInfo | Format-List | Out-Host
