#!/usr/bin/env pwsh
<#
.SYNOPSIS
    ftrace decoding rate of KernelDebug beside `trace-cmd report` and `perf script`, on the same recorded events, and
    events lost under a syscall storm beside `perf record -e` with the same per-CPU buffer size.
.DESCRIPTION
    1. Decode rate from trace_pipe_raw: each repetition records a storm (dd bs=1) into two identical instances; the
       Core decoder reads one, Receive-FtraceCapture | Measure-Object the other.
    2. Decode rate from files: one storm is recorded at once by a tracefs instance (trace-cmd extract -> .dat, zstd)
       and by `perf record -a` (perf.data); each repetition decodes the same .dat with TraceDatFile and with
       Get-FtraceEvent, the same .dat with `trace-cmd report`, and the perf.data with `perf script`.
    Both are interleaved repetitions (BenchSupport): events/s as median with its spread.
    3. Peak memory: maximum RSS (/usr/bin/time -v) of a pwsh decoding the .dat beside trace-cmd report and perf script.
    4. Lost events under a storm (interleaved repetitions): Trace-KernelEvent -ScriptBlock beside perf record -m.
#>
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [int] $StormSyscalls = 100000,   # dd bs=1 count=N: N reads + N writes
    [long] $LostBufferSize = 1MB,
    [int] $Repetitions = 5
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
. (Join-Path $PSScriptRoot 'BenchSupport.ps1')
$ModulePath = (Resolve-Path $ModulePath).Path
Import-Module (Join-Path $ModulePath 'KernelDebug.psd1') -Force
$traceCmd = Get-BenchTool trace-cmd trace-cmd
$perf = Get-BenchTool perf linux-perf
$events = 'raw_syscalls:sys_enter', 'raw_syscalls:sys_exit'
function Invoke-Storm([int] $n) { & dd if=/dev/zero of=/dev/null bs=1 count=$n 2>$null; if ($LASTEXITCODE) { throw "dd exited with $LASTEXITCODE" } }
$tmp = Join-Path ([IO.Path]::GetTempPath()) "kd-ftrace-bench-$PID"
New-Item -ItemType Directory -Force $tmp | Out-Null
$script:names = [Collections.Generic.List[string]]::new()
$script:rep = 0
$fs = [KernelDebug.Core.Tracing.TraceFs]::Locate([KernelDebug.Core.KernelRoot]::Live, $true)

# One storm into two instances; returns their names (both stopped, events kept).
function New-StormCapture {
    $script:rep++
    $a = Start-FtraceCapture -Event $events -BufferSize 64MB -Name "bench-core-$PID-$script:rep"
    $b = Start-FtraceCapture -Event $events -BufferSize 64MB -Name "bench-pipe-$PID-$script:rep"
    $script:names.Add($a.Name); $script:names.Add($b.Name)
    Invoke-Storm $StormSyscalls
    Stop-FtraceCapture -Name $a.Name, $b.Name
    $a.Name, $b.Name
}
function Measure-CoreDecode([string] $Name) {
    $ctx = [KernelDebug.Core.Parsing.ParseContext]::new('bench')
    $session = [KernelDebug.Core.Tracing.FtraceSession]::Open($fs, $Name, $ctx)
    $reader = $session.OpenReader($ctx)
    $list = [System.Collections.Generic.List[KernelDebug.Core.Tracing.FtraceEvent]]::new()
    $r = Measure-Rate { while ($reader.ReadAvailable($list, 4096) -gt 0) { }; $list.Count }
    $reader.Dispose(); $session.Dispose()
    $r
}
# Wall-clock rate (the figure), and the rate per CPU-second of this process (all threads) beside it: this machine is
# shared, and a busy neighbour stretches wall time more than CPU time.
$me = [Diagnostics.Process]::GetCurrentProcess()
function Measure-Rate([scriptblock] $Count) {
    $me.Refresh(); $cpu0 = $me.TotalProcessorTime
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $rateEvents = & $Count
    $sw.Stop(); $me.Refresh()
    @{ Value = $rateEvents / $sw.Elapsed.TotalSeconds; Events = $rateEvents; CpuRate = $rateEvents / [math]::Max(1e-6, ($me.TotalProcessorTime - $cpu0).TotalSeconds) }
}
# A peer process: wall and CPU seconds from /usr/bin/time.
function Measure-PeerRate([string] $File, [string[]] $Arguments, [long] $Events) {
    $m = Measure-MaxRss $File $Arguments
    @{ Value = $Events / [math]::Max(0.01, $m.Seconds); Events = $Events; CpuRate = $Events / [math]::Max(0.01, $m.CpuSeconds) }
}

try {
    # --- 1. trace_pipe_raw
    $script:pending = $null
    $live = Invoke-BenchLoop -Repetitions $Repetitions -Variant ([ordered]@{
            'KernelDebug decoder (trace_pipe_raw)' = { $script:pending = New-StormCapture; $r = Measure-CoreDecode $script:pending[0]; Remove-FtraceCapture -Name $script:pending[0]; $r }
            'Receive-FtraceCapture | Measure-Object' = {
                $pipeName = $script:pending[1]
                $r = Measure-Rate { (Receive-FtraceCapture -Name $pipeName | Measure-Object).Count }
                Remove-FtraceCapture -Name $pipeName; $r
            }
        })
    $evNote = { param($v) '{0:N0} events; {1:N0} events per CPU-second' -f (Get-BenchDetail $v Events), (Get-BenchDetail $v CpuRate) }
    Format-BenchTable $live -Baseline 'KernelDebug decoder (trace_pipe_raw)' -Unit 'events/s' -Note $evNote -Title "Decoding trace_pipe_raw ($('{0:N0}' -f (2 * $StormSyscalls)) syscalls, sys_enter + sys_exit)"

    # --- 2. the same events into a .dat (trace-cmd extract) and a perf.data (perf record -a), recorded together
    $twin = Start-FtraceCapture -Event $events -BufferSize 64MB -Name "bench-twin-$PID"
    $script:names.Add($twin.Name)
    $perfData = Join-Path $tmp 'perf.data'
    & $perf record -q -e raw_syscalls:sys_enter -e raw_syscalls:sys_exit -a -m 128M -o $perfData -- dd if=/dev/zero of=/dev/null bs=1 "count=$StormSyscalls" 2>$null | Out-Null
    if ($LASTEXITCODE) { throw "perf record exited with $LASTEXITCODE" }
    Stop-FtraceCapture -Name $twin.Name
    $dat = Join-Path $tmp 'twin.dat'
    & $traceCmd extract -B $twin.Name -o $dat *> (Join-Path $tmp 'extract.log')
    if ($LASTEXITCODE) { throw "trace-cmd extract exited with ${LASTEXITCODE}: $(Get-Content (Join-Path $tmp 'extract.log') -Raw)" }
    $extractRemoved = -not (Test-Path "$($fs.Path)/instances/$($twin.Name)")
    $tcCount = @(& $traceCmd report -i $dat 2>$null | Select-String 'sys_(enter|exit)').Count
    $perfCount = @(& $perf script -i $perfData -F event 2>$null | Select-String 'sys_(enter|exit)').Count
    $files = Invoke-BenchLoop -WarmUp -Repetitions $Repetitions -Variant ([ordered]@{
            'trace-cmd report > /dev/null (.dat)' = { Measure-PeerRate $traceCmd @('report', '-i', $dat) $tcCount }
            'perf script > /dev/null (perf.data)' = { Measure-PeerRate $perf @('script', '-i', $perfData) $perfCount }
            'KernelDebug TraceDatFile (same .dat, zstd)' = {
                Measure-Rate {
                    $stream = [IO.File]::OpenRead($dat)
                    try {
                        $file = [KernelDebug.Core.Tracing.TraceDatFile]::Open($stream, [KernelDebug.Core.Parsing.ParseContext]::new($dat))
                        [Linq.Enumerable]::Count([Collections.Generic.IEnumerable[KernelDebug.Core.Tracing.FtraceEvent]]$file.ReadEvents())
                    }
                    finally { $stream.Dispose() }
                }
            }
            'Get-FtraceEvent | Measure-Object (same .dat)' = { Measure-Rate { (Get-FtraceEvent -Path $dat | Measure-Object).Count } }
        })
    Format-BenchTable $files -Baseline 'trace-cmd report > /dev/null (.dat)' -Unit 'events/s' -Note $evNote -Title 'Decoding recorded files (one storm recorded by ftrace and perf together)'
    $goal = { param($name, $r) '{0}: {1:N0} events/s (goal >= 1,000,000): {2}' -f $name, $r.Stat.Median, $(if ($r.Stat.Median -ge 1e6) { 'met' } else { 'not met' }) }
    & $goal 'trace_pipe_raw decode' $live['KernelDebug decoder (trace_pipe_raw)']
    & $goal '.dat (zstd) decode' $files['KernelDebug TraceDatFile (same .dat, zstd)']
    "trace-cmd extract removed its instance: $extractRemoved"

    # --- 3. peak memory, one process each
    $rss = [ordered]@{
        'pwsh + Import-Module (nothing read)'        = Measure-PwshMaxRss $ModulePath
        'Get-FtraceEvent -Path .dat | Measure-Object' = Measure-PwshMaxRss $ModulePath "Get-FtraceEvent -Path '$dat' | Measure-Object"
        '$e = Get-FtraceEvent -Path .dat (kept)'      = Measure-PwshMaxRss $ModulePath "`$e = Get-FtraceEvent -Path '$dat'; `$e.Count"
        'trace-cmd report -i .dat'                    = Measure-MaxRss $traceCmd @('report', '-i', $dat)
        'perf script -i perf.data'                    = Measure-MaxRss $perf @('script', '-i', $perfData)
    }
    Format-MaxRssTable $rss "Peak memory decoding the same events (maximum RSS, /usr/bin/time -v; .dat $('{0:N0}' -f $tcCount) events, perf.data $('{0:N0}' -f $perfCount))"

    # --- 4. lost events under a storm, same per-CPU buffer size, both streaming while it runs
    $pages = [int][math]::Max(1, $LostBufferSize / 4096)
    $perfLostData = Join-Path $tmp 'perf-lost.data'
    $lostSyscalls = $StormSyscalls * 2
    $lost = Invoke-BenchLoop -Repetitions $Repetitions -Variant ([ordered]@{
            'Trace-KernelEvent -ScriptBlock' = {
                $w = $null
                $got = (Trace-KernelEvent -Event raw_syscalls:sys_enter -BufferSize $LostBufferSize -ScriptBlock { Invoke-Storm $lostSyscalls } -WarningVariable w -WarningAction SilentlyContinue | Measure-Object).Count
                @{ Value = $(if ($w -join ' ' -match 'lost (\d+)') { [long]$Matches[1] } else { 0 }); Received = $got }
            }
            'perf record -e raw_syscalls:sys_enter -m' = {
                & $perf record -q -e raw_syscalls:sys_enter -a -m $pages -o $perfLostData -- dd if=/dev/zero of=/dev/null bs=1 "count=$lostSyscalls" 2>$null | Out-Null
                $stats = (& $perf report -i $perfLostData --stats 2>$null) -join "`n"
                # The per-event section counts the samples perf lost for raw_syscalls:sys_enter.
                $section = if ($stats -match '(?s)raw_syscalls:sys_enter stats:(.*?)(\n\S|$)') { $Matches[1] } else { '' }
                @{ Value = $(if ($section -match 'LOST_SAMPLES events:\s+(\d+)') { [long]$Matches[1] } else { 0 })
                    Received = $(if ($section -match 'SAMPLE events:\s+(\d+)') { [long]$Matches[1] } else { 0 }) }
            }
        })
    Format-BenchTable $lost -Baseline 'perf record -e raw_syscalls:sys_enter -m' -Unit 'lost' -Note { param($v) 'received {0:N0}' -f (Get-BenchDetail $v Received) } `
        -Title "Events lost under a storm ($('{0:N0}' -f ($StormSyscalls * 4)) syscalls, $($LostBufferSize / 1KB) KiB/CPU)"
    Get-BenchLoad
}
finally {
    foreach ($name in $script:names) { Remove-FtraceCapture -Name $name -ErrorAction SilentlyContinue }
    Remove-Item -Recurse -Force $tmp -ErrorAction SilentlyContinue
}
