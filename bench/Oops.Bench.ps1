#!/usr/bin/env pwsh
# Get-KernelOops on a generated 1,000,000-line kernel log with crash reports mixed in, beside what people
# run today on the same file: a `switch -Regex -File` header count and Select-String (they only find header
# lines; Get-KernelOops returns titled, classified records with frames). Interleaved repetitions (BenchSupport).
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [int] $Lines = 1000000,
    # One report block per this many ordinary lines.
    [int] $Every = 500,
    [int] $Repetitions = 5
)
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'BenchSupport.ps1')
Import-Module (Join-Path (Resolve-Path $ModulePath) 'KernelDebug.psd1') -Force

$fixtures = Join-Path $PSScriptRoot '../tests/fixtures/oops'
$blocks = @(
    (Get-Content (Join-Path $fixtures 'two-warnings.log'))[2..43],
    (Get-Content (Join-Path $fixtures 'null-deref-module.log'))[3..52]
) | ForEach-Object { , @($_ | ForEach-Object { $_.Substring($_.IndexOf(']') + 1) }) }
$normal = @(
    ' e1000e 0000:00:19.0 eth0: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx',
    ' audit: type=1400 audit(1700000000.123:42): apparmor="DENIED" operation="open" profile="snap" name="/proc/1/" pid=1234',
    ' usb 1-1: new high-speed USB device number 2 using xhci_hcd',
    ' EXT4-fs (sda1): mounted filesystem with ordered data mode. Quota mode: none.')

$log = Join-Path ([IO.Path]::GetTempPath()) "kerneldebug-oops-bench-$PID.log"
$rng = [Random]::new(1)
$w = [IO.StreamWriter]::new($log)
try {
    $t = 1.0; $n = 0
    while ($n -lt $Lines) {
        if ($rng.Next($Every) -eq 0) {
            foreach ($l in $blocks[$rng.Next($blocks.Count)]) { $w.Write('[{0,12:F6}]' -f $t); $w.WriteLine($l); $n++; $t += 0.000001 }
        }
        else { $w.Write('[{0,12:F6}]' -f $t); $w.WriteLine($normal[$rng.Next($normal.Count)]); $n++; $t += 0.001 }
    }
}
finally { $w.Dispose() }

try {
    $null = Get-KernelOops -Path (Join-Path $fixtures 'two-warnings.log')   # warm up
    $pattern = 'BUG:|WARNING:|Oops:|Kernel panic|INFO: task .* blocked|general protection fault'
    $r = Invoke-BenchLoop -Repetitions $Repetitions -Variant ([ordered]@{
            'Get-KernelOops -Path (records)' = { $sw = [Diagnostics.Stopwatch]::StartNew(); $n = @(Get-KernelOops -Path $log).Count; @{ Value = $sw.Elapsed.TotalSeconds; Found = $n } }
            'switch -Regex -File (header lines)' = { $sw = [Diagnostics.Stopwatch]::StartNew(); $c = 0; switch -Regex -File $log { $pattern { $c++ } }; @{ Value = $sw.Elapsed.TotalSeconds; Found = $c } }
            'Select-String (header lines)' = { $sw = [Diagnostics.Stopwatch]::StartNew(); $c = @(Select-String -Path $log -Pattern $pattern).Count; @{ Value = $sw.Elapsed.TotalSeconds; Found = $c } }
        })
    Format-BenchTable $r -Baseline 'Select-String (header lines)' -Unit 's' -Format 'N3' -Note { param($v) '{0:N0} found' -f (Get-BenchDetail $v Found) } `
        -Title ("Crash reports in a {0:N0}-line log ({1:N0} MB)" -f $Lines, ((Get-Item $log).Length / 1MB))
    $ratio = $r['Get-KernelOops -Path (records)'].Stat.Median / $r['Select-String (header lines)'].Stat.Median
    'Get-KernelOops / Select-String: {0:N2} x (goal <= 1.0)' -f $ratio
    Get-BenchLoad
}
finally { Remove-Item $log -ErrorAction SilentlyContinue }
