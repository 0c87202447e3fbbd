<#
.SYNOPSIS
    Kernel log parsing speed: Get-KernelMessage -Path beside Python, dmesg and the PowerShell one-liners, on one
    generated 1,000,000-line kernel log, all measured in this run.
.DESCRIPTION
    Writes a realistic log (driver chatter, audit lines, WARNING reports with Call Trace blocks) with
    bench/New-KernelLogSample.py into a temporary folder, in dmesg text form and in the raw '<prio>[ts] text' form that
    dmesg -F reads, then times:
      - Get-KernelMessage -Path (typed KernelMessage records, collected into a variable, and streamed to Measure-Object),
        in a fresh pwsh after one warm-up read, with its peak working set while streaming;
      - Get-KernelOops -Path on the same file, when the module has it;
      - a Python regex parse of timestamp and text (bench/parse_dmesg.py);
      - dmesg -F on the raw form;
      - switch -Regex -File and Get-Content | Select-String, as people write them.
.PARAMETER ModulePath
    The built module folder (out/KernelDebug).
.PARAMETER Lines
    Lines in the generated log.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [int] $Lines = 1000000
)
$ErrorActionPreference = 'Stop'
$ModulePath = (Resolve-Path $ModulePath).Path
Set-StrictMode -Version 3.0

$dir = Join-Path ([IO.Path]::GetTempPath()) "kd-logbench-$PID"
New-Item -ItemType Directory -Force -Path $dir | Out-Null
$text = Join-Path $dir 'kernel.log'
$raw = Join-Path $dir 'kernel-raw.log'
$results = [Collections.Generic.List[object]]::new()

function Add-Result([string] $Tool, [string] $What, [double] $Seconds, [string] $Note = '') {
    $results.Add([pscustomobject]@{ Tool = $Tool; What = $What; Seconds = [math]::Round($Seconds, 3); Note = $Note })
}

function Measure-Process([string] $File, [string[]] $Arguments, [string] $StdOut = '/dev/null') {
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $p = Start-Process -FilePath $File -ArgumentList $Arguments -NoNewWindow -Wait -PassThru -RedirectStandardOutput $StdOut
    $sw.Stop()
    if ($p.ExitCode -ne 0) { Write-Warning "$File exited with $($p.ExitCode)" }
    $sw.Elapsed.TotalSeconds
}

try {
    Write-Host "Generating $Lines lines in $dir ..."
    & python3 (Join-Path $PSScriptRoot 'New-KernelLogSample.py') $Lines $text $raw
    if ($LASTEXITCODE -ne 0) { throw 'log generation failed' }
    $size = (Get-Item $text).Length
    Write-Host ('  {0:N0} lines, {1:N1} MB' -f $Lines, ($size / 1MB))

    # Ours, in a fresh pwsh so its memory figure is its own.
    $child = @'
param($Module, $File)
Import-Module $Module
$null = Get-KernelMessage -Path $File | Measure-Object          # warm-up: JIT and page cache
$p = [Diagnostics.Process]::GetCurrentProcess()
$sw = [Diagnostics.Stopwatch]::StartNew()
$count = (Get-KernelMessage -Path $File | Measure-Object).Count
$stream = $sw.Elapsed.TotalSeconds
$p.Refresh(); $peak = $p.PeakWorkingSet64
$sw.Restart()
$records = Get-KernelMessage -Path $File
$collect = $sw.Elapsed.TotalSeconds
$first = $records[0].GetType().FullName
$records = $null
$oops = $null
if (Get-Command Get-KernelOops -ErrorAction SilentlyContinue) {
    $null = Get-KernelOops -Path $File | Measure-Object
    $sw.Restart()
    $n = (Get-KernelOops -Path $File | Measure-Object).Count
    $oops = @{ Seconds = $sw.Elapsed.TotalSeconds; Count = $n }
}
[pscustomobject]@{ Count = $count; Stream = $stream; Collect = $collect; Peak = $peak; Type = $first; Oops = $oops } | ConvertTo-Json -Compress
'@
    $childFile = Join-Path $dir 'ours.ps1'
    Set-Content -Path $childFile -Value $child
    $json = & dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -File $childFile (Join-Path $ModulePath 'KernelDebug.psd1') $text
    $ours = $json | Select-Object -Last 1 | ConvertFrom-Json
    Add-Result 'Get-KernelMessage -Path' "$($ours.Count) $($ours.Type.Split('.')[-1]) records into a variable" $ours.Collect
    Add-Result 'Get-KernelMessage -Path | Measure-Object' 'streamed records' $ours.Stream ('peak working set {0:N0} MB' -f ($ours.Peak / 1MB))
    if ($ours.Oops) { Add-Result 'Get-KernelOops -Path | Measure-Object' "$($ours.Oops.Count) reports" $ours.Oops.Seconds }
    else { Write-Host '  (Get-KernelOops is not in this module; not timed)' }

    Add-Result 'python3 regex (timestamp, text)' 'list of tuples' (Measure-Process python3 @((Join-Path $PSScriptRoot 'parse_dmesg.py'), $text))
    if (Get-Command dmesg -ErrorAction SilentlyContinue) {
        Add-Result 'dmesg -F (raw <prio>[ts] form)' 'text to /dev/null' (Measure-Process dmesg @('-F', $raw))
    }

    $pattern = '^\[\s*(\d+\.\d+)\]\s?(.*)$'
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $rows = switch -Regex -File $text { $pattern { [pscustomobject]@{ Uptime = [double]$Matches[1]; Text = $Matches[2] } } }
    Add-Result 'switch -Regex -File' "$($rows.Count) PSCustomObjects" $sw.Elapsed.TotalSeconds
    $rows = $null

    $sw.Restart()
    $n = (Get-Content -Path $text | Select-String -Pattern $pattern | Measure-Object).Count
    Add-Result 'Get-Content | Select-String' "$n MatchInfo" $sw.Elapsed.TotalSeconds

    $base = ($results | Where-Object Tool -eq 'Get-KernelMessage -Path').Seconds
    $results | Select-Object Tool, What, Seconds, @{ n = 'xOurs'; e = { '{0:N1}' -f ($_.Seconds / $base) } }, Note | Format-Table -AutoSize | Out-String -Width 200 | Write-Host
    Write-Host ('Goal: Get-KernelMessage -Path under 1.0 s for {0:N0} lines: {1}' -f $Lines, $(if ($base -lt 1.0) { 'met' } else { "not met ($base s)" }))
}
finally {
    Remove-Item -Recurse -Force $dir -ErrorAction SilentlyContinue
}
