#!/usr/bin/env pwsh
# build.ps1 Package: a .nupkg of out/KernelDebug, published through PSResourceGet into a local folder repository.
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $OutDirectory
)
$ErrorActionPreference = 'Stop'
New-Item -ItemType Directory -Force -Path $OutDirectory | Out-Null
$name = "KernelDebugBuild-$PID"
Register-PSResourceRepository -Name $name -Uri $OutDirectory -Trusted
try {
    Publish-PSResource -Path $ModulePath -Repository $name -SkipDependenciesCheck
}
finally {
    Unregister-PSResourceRepository -Name $name
}
Get-ChildItem $OutDirectory -Filter '*.nupkg' | Sort-Object LastWriteTime | Select-Object -Last 1 | ForEach-Object { Write-Host "package: $($_.FullName)" }
