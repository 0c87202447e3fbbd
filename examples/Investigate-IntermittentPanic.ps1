#!/usr/bin/env pwsh
<#
.SYNOPSIS
    The origin scenario, "a kernel panic happens" intermittently: gather every crash report from a set of
    machines' snapshots and crash files, group them by signature, show the guilty frames, and say what to
    enable next so the next crash tells more.
.EXAMPLE
    ./Investigate-IntermittentPanic.ps1 -SnapshotPath ./web1, ./web2 -LogPath /var/crash/*/vmcore-dmesg.txt
.EXAMPLE
    Invoke-Command -HostName web1, web2 { Save-KernelSnapshot -Path /tmp/snap.tar.gz }   # then copy them here
#>
param(
    # Snapshot directories (Save-KernelSnapshot): their kernel log and any crash files inside them are read.
    [string[]] $SnapshotPath = @(),
    # Extra log files: console captures, vmcore-dmesg.txt, pstore files, kern.log (wildcards allowed).
    [string[]] $LogPath = @(),
    # How many signatures to show.
    [int] $Top = 10
)
$ErrorActionPreference = 'Stop'
# Installed: by name. From a clone: the built module beside this script (./build.ps1 Build writes out/KernelDebug).
if (-not (Get-Module KernelDebug)) {
    if (Get-Module -ListAvailable KernelDebug) { Import-Module KernelDebug }
    else { Import-Module (Join-Path $PSScriptRoot '../out/KernelDebug/KernelDebug.psd1') }
}

$reports = [System.Collections.Generic.List[object]]::new()
foreach ($snap in $SnapshotPath) {
    $host_ = (Get-KernelInfo -Root $snap).HostName
    Get-KernelOops -Root $snap -WarningAction SilentlyContinue -ErrorAction SilentlyContinue |
        Add-Member -NotePropertyName Machine -NotePropertyValue $host_ -PassThru | ForEach-Object { $reports.Add($_) }
    foreach ($crashFile in @(Get-ChildItem -Path (Join-Path $snap 'var/crash/*/vmcore-dmesg.txt'), (Join-Path $snap 'sys/fs/pstore/*') -ErrorAction SilentlyContinue)) {
        Get-KernelOops -Path $crashFile.FullName -WarningAction SilentlyContinue |
            Add-Member -NotePropertyName Machine -NotePropertyValue $host_ -PassThru | ForEach-Object { $reports.Add($_) }
    }
}
foreach ($log in Get-ChildItem -Path $LogPath -File -ErrorAction SilentlyContinue) {
    # The machine is what the file name says before its first '-' or '.' (web1-console.log, web1.log).
    $machine = ($log.Name -split '[-.]')[0]
    Get-KernelOops -Path $log.FullName -WarningAction SilentlyContinue |
        Add-Member -NotePropertyName Machine -NotePropertyValue $machine -PassThru | ForEach-Object { $reports.Add($_) }
}

Write-Host "`n== $($reports.Count) crash report(s) on $(@($reports.Machine | Select-Object -Unique).Count) machine(s)"
if ($reports.Count -eq 0) { Write-Host 'No crash report found.'; }
else {
    Write-Host "`n== By signature (the same bug on several machines groups together)"
    $reports | Group-Object Signature | Sort-Object Count -Descending | Select-Object -First $Top | ForEach-Object {
        $first = $_.Group[0]
        [pscustomobject]@{
            Count     = $_.Count
            Machines  = ($_.Group.Machine | Select-Object -Unique) -join ','
            Panicked  = @($_.Group | Where-Object Panicked).Count
            Kind      = $first.Kind
            Title     = $first.Title
        }
    } | Format-Table -AutoSize -Wrap | Out-String -Width 200 | Write-Host

    Write-Host '== Top guilty frames'
    $reports | Where-Object GuiltyFrame | Group-Object { $_.GuiltyFrame } | Sort-Object Count -Descending | Select-Object -First $Top |
        Format-Table Count, Name -AutoSize | Out-String | Write-Host
}

Write-Host '== What to enable next, so the next crash tells more'
$roots = if ($SnapshotPath) { $SnapshotPath } else { @('/') }
foreach ($root in $roots) {
    $missing = Get-KernelDebugCapability -Root $root -Name Kdump, Pstore, Kasan, Kfence, Lockdep, HungTaskDetector, SoftLockupDetector |
        Where-Object { -not $_.Available }
    foreach ($m in $missing) { Write-Host ("[{0}] {1}: {2}" -f $root, $m.Name, $m.Remedy) }
}
