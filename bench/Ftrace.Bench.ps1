#!/usr/bin/env pwsh
# ftrace benchmark: decode rate of KernelDebug's ring-buffer decoder beside `trace-cmd report`, on the same recorded
# workload, and events lost under a syscall storm beside `perf record -e` with the same per-CPU buffer size.
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [int] $StormSyscalls = 100000,   # dd bs=1 count=N: N reads + N writes
    [long] $LostBufferSize = 1MB
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $ModulePath 'KernelDebug.psd1') -Force
$events = 'raw_syscalls:sys_enter', 'raw_syscalls:sys_exit'
function Invoke-Storm([int] $n) { & dd if=/dev/zero of=/dev/null bs=1 count=$n 2>$null }
$tmp = Join-Path ([IO.Path]::GetTempPath()) "kd-ftrace-bench-$PID"
New-Item -ItemType Directory -Force $tmp | Out-Null
$names = @()
try {
    # --- 1. decode rate: two identical instances record the same storm; we decode one, trace-cmd the other.
    $ours = Start-FtraceCapture -Event $events -BufferSize 64MB -Name "bench-ours-$PID"
    $twin = Start-FtraceCapture -Event $events -BufferSize 64MB -Name "bench-twin-$PID"
    $names += $ours.Name, $twin.Name
    Invoke-Storm $StormSyscalls
    Stop-FtraceCapture -Name $ours.Name, $twin.Name

    # Core decoder alone (pages -> FtraceEvent records), then the full cmdlet pipeline on the twin's copy is not
    # possible (reading consumes), so the pipeline figure uses a second storm below.
    $fs = [KernelDebug.Core.Tracing.TraceFs]::Locate([KernelDebug.Core.KernelRoot]::Live, $true)
    $ctx = [KernelDebug.Core.Parsing.ParseContext]::new('bench')
    $session = [KernelDebug.Core.Tracing.FtraceSession]::Open($fs, $ours.Name, $ctx)
    $reader = $session.OpenReader($ctx)
    $list = [System.Collections.Generic.List[KernelDebug.Core.Tracing.FtraceEvent]]::new()
    $sw = [Diagnostics.Stopwatch]::StartNew()
    while ($reader.ReadAvailable($list, 4096) -gt 0) { }
    $sw.Stop()
    $reader.Dispose(); $session.Dispose()
    $oursCount = $list.Count
    $oursRate = $oursCount / $sw.Elapsed.TotalSeconds
    $list = $null; [GC]::Collect()

    $dat = Join-Path $tmp 'twin.dat'
    & trace-cmd extract -B $twin.Name -o $dat *> (Join-Path $tmp 'extract.log')
    $sw = [Diagnostics.Stopwatch]::StartNew()
    & trace-cmd report -i $dat > /dev/null 2>&1
    $sw.Stop()
    $tcTime = $sw.Elapsed.TotalSeconds
    $tcCount = @(& trace-cmd report -i $dat 2>$null | Select-String 'sys_(enter|exit)').Count
    $tcRate = $tcCount / $tcTime

    # Our reader on the very same .dat file (metadata, zstd chunks, pages -> FtraceEvent).
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $stream = [IO.File]::OpenRead($dat)
    $file = [KernelDebug.Core.Tracing.TraceDatFile]::Open($stream, [KernelDebug.Core.Parsing.ParseContext]::new($dat))
    $datCount = [Linq.Enumerable]::Count([Collections.Generic.IEnumerable[KernelDebug.Core.Tracing.FtraceEvent]]$file.ReadEvents())
    $stream.Dispose()
    $sw.Stop()
    $datRate = $datCount / $sw.Elapsed.TotalSeconds

    # Through the cmdlet pipeline (Receive-FtraceCapture | Measure-Object), on a fresh storm.
    $pipe = Start-FtraceCapture -Event $events -BufferSize 64MB -Name "bench-pipe-$PID"
    $names += $pipe.Name
    Invoke-Storm $StormSyscalls
    Stop-FtraceCapture -Name $pipe.Name
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $pipeCount = (Receive-FtraceCapture -Name $pipe.Name | Measure-Object).Count
    $sw.Stop()
    $pipeRate = $pipeCount / $sw.Elapsed.TotalSeconds

    '{0,-44} {1,12} {2,14}' -f 'decode (same workload)', 'events', 'events/s'
    '{0,-44} {1,12:N0} {2,14:N0}' -f 'KernelDebug decoder (trace_pipe_raw)', $oursCount, $oursRate
    '{0,-44} {1,12:N0} {2,14:N0}' -f 'KernelDebug Receive-FtraceCapture pipeline', $pipeCount, $pipeRate
    '{0,-44} {1,12:N0} {2,14:N0}' -f 'KernelDebug TraceDatFile (same .dat, zstd)', $datCount, $datRate
    '{0,-44} {1,12:N0} {2,14:N0}' -f 'trace-cmd report > /dev/null (same .dat)', $tcCount, $tcRate
    "trace-cmd extract removed its instance: $(-not (Test-Path "$($fs.Path)/instances/$($twin.Name)"))"
    ''

    # --- 2. lost events under a storm, same per-CPU buffer size, both streaming while it runs.
    $lostWarnings = $null
    $got = (Trace-KernelEvent -Event raw_syscalls:sys_enter -BufferSize $LostBufferSize -ScriptBlock { Invoke-Storm ($StormSyscalls * 2) } -WarningVariable lostWarnings -WarningAction SilentlyContinue | Measure-Object).Count
    $oursLost = if ($lostWarnings -join ' ' -match 'lost (\d+)') { [long]$Matches[1] } else { 0 }

    $pages = [int][math]::Max(1, $LostBufferSize / 4096)
    $perfData = Join-Path $tmp 'perf.data'
    $n = $StormSyscalls * 2
    & perf record -q -e raw_syscalls:sys_enter -a -m $pages -o $perfData -- dd if=/dev/zero of=/dev/null bs=1 "count=$n" 2>$null | Out-Null
    $stats = (& perf report -i $perfData --stats 2>$null) -join "`n"
    # The per-event section counts the samples perf lost for raw_syscalls:sys_enter.
    $section = if ($stats -match '(?s)raw_syscalls:sys_enter stats:(.*?)(\n\S|$)') { $Matches[1] } else { '' }
    $perfSamples = if ($section -match 'SAMPLE events:\s+(\d+)') { [long]$Matches[1] } else { 0 }
    $perfLost = if ($section -match 'LOST_SAMPLES events:\s+(\d+)') { [long]$Matches[1] } else { 0 }
    $perfLostRecords = if ($stats -match '\sLOST events:\s+(\d+)') { [long]$Matches[1] } else { 0 }

    '{0,-44} {1,12} {2,14}' -f "lost under a storm ($('{0:N0}' -f ($StormSyscalls * 4)) syscalls, $($LostBufferSize / 1KB) KiB/CPU)", 'received', 'lost'
    '{0,-44} {1,12:N0} {2,14:N0}' -f 'KernelDebug Trace-KernelEvent -ScriptBlock', $got, $oursLost
    '{0,-44} {1,12:N0} {2,14}' -f 'perf record -e raw_syscalls:sys_enter -m', $perfSamples, ("{0:N0} (in {1} LOST records)" -f $perfLost, $perfLostRecords)
}
finally {
    foreach ($n in $names) { Remove-FtraceCapture -Name $n -ErrorAction SilentlyContinue }
    Remove-Item -Recurse -Force $tmp -ErrorAction SilentlyContinue
}
