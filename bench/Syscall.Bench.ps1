#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Measure-SyscallLatency against the floor (an empty raw_tp pair on raw_syscalls sys_enter/sys_exit), libbpf-tools'
    syscount -L and a bpftrace histogram script, on the same loop: N getppid() calls from a small C program.
    Interleaved repetitions (untraced, floor, ours, ours -NoProgramStatistics, syscount, bpftrace in each); prints
    ns/call as median with its spread, the overhead above untraced and above the floor, the time to attached, what
    our tool reports about its own BPF cost (OverheadPerEvent), and our process's extra memory.
.NOTES
    The floor program is built here with clang against libbpf and loaded by the loop program itself for the length
    of its loop (no bpffs, no pinning: the links go with the process).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [long] $Calls = 3000000,
    [int] $Repetitions = 5
)
$ErrorActionPreference = 'Stop'
$ModulePath = (Resolve-Path $ModulePath).Path
Set-StrictMode -Version 3.0
. (Join-Path $PSScriptRoot 'BenchSupport.ps1')

$work = Join-Path ([IO.Path]::GetTempPath()) "kd-syscall-bench-$PID"
New-Item -ItemType Directory -Force $work | Out-Null
$loop = Join-Path $work 'kdbench_loop'
$floorObj = Join-Path $work 'kdbench_floor.bpf.o'
@'
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
/* The floor: what any raw_tp sys_enter/sys_exit tracer costs before it does any work. */
SEC("raw_tp/sys_enter") int kdbench_enter(void *ctx) { return 0; }
SEC("raw_tp/sys_exit") int kdbench_exit(void *ctx) { return 0; }
char LICENSE[] SEC("license") = "GPL";
'@ | Set-Content "$work/kdbench_floor.bpf.c"
@'
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
/* kdbench_loop N [floor.bpf.o]: ns per getppid() over N calls, with the floor programs attached if given. */
int main(int argc, char **argv) {
    long n = atol(argv[1]);
    struct timespec a, b;
    if (argc > 2) {
        struct bpf_object *obj = bpf_object__open_file(argv[2], NULL);
        struct bpf_program *p;
        if (!obj || bpf_object__load(obj)) { fprintf(stderr, "floor: load failed\n"); return 2; }
        bpf_object__for_each_program(p, obj) if (!bpf_program__attach(p)) { fprintf(stderr, "floor: attach failed\n"); return 2; }
    }
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) getppid();
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
    return 0;
}
'@ | Set-Content "$work/kdbench_loop.c"
$arch = (uname -m).Trim()
& clang -O2 -g -target bpf "-I/usr/include/$arch-linux-gnu" -c "$work/kdbench_floor.bpf.c" -o $floorObj
if ($LASTEXITCODE -ne 0) { throw 'clang -target bpf failed (the floor program)' }
& clang -O2 -o $loop "$work/kdbench_loop.c" -lbpf
if ($LASTEXITCODE -ne 0) { throw 'clang failed (the loop program)' }

function Invoke-Loop([switch] $Floor) {
    $a = @("$Calls") + @(if ($Floor) { $floorObj })
    $ns = & $loop @a
    if ($LASTEXITCODE -ne 0) { throw "kdbench_loop exited with $LASTEXITCODE" }
    [double]$ns
}
function Get-RssBytes { [long](((Get-Content /proc/self/status | Where-Object { $_ -like 'VmRSS:*' }) -split '\s+')[1]) * 1024 }

# --- our tool, in this warm pwsh process (a runspace so the loop can run while it measures)
Import-Module (Join-Path $ModulePath 'KernelDebug.psd1')
$iss = [initialsessionstate]::CreateDefault2()
$iss.ImportPSModule((Join-Path $ModulePath 'KernelDebug.psd1'))
$rs = [runspacefactory]::CreateRunspace($iss); $rs.Open()
$rssBefore = Get-RssBytes
$rssPeak = 0
$null = ([powershell]::Create($rs).AddScript('Measure-SyscallLatency -Duration 0:0:0.05')).Invoke()   # JIT, libbpf
$script:method = ''

function Measure-Ours([string] $Extra) {
    $started = Start-BenchCmdlet $rs "Measure-SyscallLatency -Interval 0:0:1 $Extra"
    $ns = Invoke-Loop
    $script:rssPeak = [math]::Max($script:rssPeak, (Get-RssBytes))
    Start-Sleep -Milliseconds 1100   # let the last interval close
    $out = Stop-BenchCmdlet $started
    $script:method = $started.AttachMethod
    $recs = @($out | Where-Object { $_.Syscall -eq 'getppid' })
    $top = $recs | Sort-Object Count -Descending | Select-Object -First 1
    @{ Value = $ns; Count = [long]($recs | Measure-Object Count -Sum).Sum; AttachMs = $started.AttachMs
        Reported = $top.OverheadPerEvent; P50 = $top.Histogram.P50; Histogram = $top.Histogram }
}

$syscount = Get-BenchTool syscount libbpf-tools
$bt = Get-BenchTool bpftrace bpftrace
$btScript = Join-Path $work 'syslat.bt'
@'
BEGIN { printf("Attached\n"); }
tracepoint:raw_syscalls:sys_enter { @start[tid] = nsecs; @sid[tid] = args->id; }
tracepoint:raw_syscalls:sys_exit /@start[tid]/ { @lat[@sid[tid]] = hist(nsecs - @start[tid]); delete(@start[tid]); delete(@sid[tid]); }
'@ | Set-Content $btScript
$script:btOut = ''

try {
    $r = Invoke-BenchLoop -Repetitions $Repetitions -Variant ([ordered]@{
            'untraced'                                 = { Invoke-Loop }
            'floor: empty raw_tp sys_enter/sys_exit'   = { Invoke-Loop -Floor }
            'Measure-SyscallLatency'                   = { Measure-Ours '' }
            'Measure-SyscallLatency -NoProgramStatistics' = { Measure-Ours '-NoProgramStatistics' }
            'syscount -L (libbpf-tools)'               = { $t = Start-BenchTool $syscount @('-L') 'Tracing syscalls'; $ns = Invoke-Loop; $null = Stop-BenchTool $t; @{ Value = $ns; AttachMs = $t.AttachMs } }
            'bpftrace hist script'                     = { $t = Start-BenchTool $bt @($btScript) '^Attached'; $ns = Invoke-Loop; $script:btOut = Stop-BenchTool $t; @{ Value = $ns; AttachMs = $t.AttachMs } }
        })
    $ours = $r['Measure-SyscallLatency']
    $last = $ours.Details[-1]
    $note = {
        param($v)
        $parts = @()
        $a = Get-BenchDetail $v AttachMs; if ($null -ne $a) { $parts += 'attached in {0:N1} ms' -f $a }
        $c = Get-BenchDetail $v Count; if ($null -ne $c) { $parts += 'counted {0:N0} getppid' -f $c }
        $o = Get-BenchDetail $v Reported; if ($null -ne $o) { $parts += 'reports {0:N0} ns BPF time/call' -f $o }
        $parts -join '; '
    }
    Format-BenchTable $r -Baseline 'untraced' -Unit 'ns/call' -Note $note -Title "getppid() x $Calls under each tracer (system-wide, all syscalls)"

    $floorName = 'floor: empty raw_tp sys_enter/sys_exit'
    $above = [ordered]@{}
    foreach ($k in $r.Keys) { if ($k -ne 'untraced') { $above[$k] = $r[$k] } }
    Format-BenchTable $above -Baseline $floorName -Unit 'ns/call' -Title 'The same, against the floor'
    $over = $ours.Stat.Median - $r[$floorName].Stat.Median
    'Measure-SyscallLatency ({0}) above the floor: {1:N0} ns/call{2}; goal <= 100 ns: {3}' -f $script:method, $over,
        $(if (Test-BenchNoise $ours $r[$floorName]) { ' (within noise)' } else { '' }), $(if ($over -le 100) { 'met' } else { 'not met' })
    'Ours: time to attached is from cmdlet invocation in a warm pwsh; theirs from process launch to their ready line.'
    'Ours: extra memory of this pwsh process while measuring: {0:N1} MB (RSS after module import {1:N1} MB)' -f (($rssPeak - $rssBefore) / 1MB), ($rssBefore / 1MB)

    # bpftrace's getppid (110) histogram: the power-of-two row holding its median, next to our interpolated P50
    $rowsBt = @(); $in = $false
    foreach ($l in $script:btOut -split "`n") {
        if ($l -match '^@lat\[110\]:') { $in = $true; continue }
        if ($in -and $l -match '^\[(\S+), (\S+)\)\s+(\d+)') { $rowsBt += , @($Matches[1], $Matches[2], [long]$Matches[3]) }
        elseif ($in -and $rowsBt.Count) { break }
    }
    if ($rowsBt.Count) {
        $half = ($rowsBt | ForEach-Object { $_[2] } | Measure-Object -Sum).Sum / 2; $acc = 0
        foreach ($row in $rowsBt) { $acc += $row[2]; if ($acc -ge $half) { "bpftrace: getppid median in [$($row[0]), $($row[1])) ns"; break } }
    }
    "Ours: getppid P50 {0:N0} ns; our nsecs histogram (same power-of-two rows as bpftrace's hist):" -f $last.P50
    $last.Histogram.ToLog2Text('nsecs', 1)
    Get-BenchLoad
}
finally {
    $rs.Dispose()
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}
