# SIGTERM (timeout, systemd) must clean up like Ctrl+C: a child pwsh runs a cmdlet that creates kernel objects,
# `timeout` ends it, and nothing it created is left behind.
BeforeAll {
    Import-Module $env:KERNELDEBUG_MODULE -Force
    # The real pwsh (not the `dotnet pwsh` tool shim, which runs it as a grandchild): `timeout` signals it directly.
    $script:PwshDll = [Environment]::GetCommandLineArgs()[0]
    $script:Dotnet = (Get-Process -Id $PID).Path
    $script:TraceFs = @('/sys/kernel/tracing', '/sys/kernel/debug/tracing') | Where-Object { Test-Path "$_/available_events" } | Select-Object -First 1

    # Starts `timeout -s <signal> <seconds> pwsh -c <script>`; the script gets $ready, a file to write once it runs.
    function Start-Timed([string] $Signal, [int] $Seconds, [string] $Script, [string] $Ready) {
        $module = $env:KERNELDEBUG_MODULE
        $body = "`$ready = '$Ready'; [IO.File]::WriteAllText('$Ready.pid', `"`$PID`"); Import-Module '$module'; $Script"
        $psi = [Diagnostics.ProcessStartInfo]::new('timeout')
        foreach ($a in '-s', $Signal, "$Seconds", $script:Dotnet, $script:PwshDll, '-NoProfile', '-NonInteractive', '-Command', $body) { $psi.ArgumentList.Add($a) }
        $psi.RedirectStandardOutput = $true
        $psi.RedirectStandardError = $true
        [Diagnostics.Process]::Start($psi)
    }
}

Describe 'Signals clean up like Ctrl+C' {
    It 'Trace-KernelEvent ended by <Signal> leaves no tracefs instance' -ForEach @(@{ Signal = 'TERM' }, @{ Signal = 'HUP' }) {
        Get-KernelTracepoint sched:sched_switch | Out-Null # mounts tracefs if needed
        $ready = Join-Path $TestDrive "trace-$Signal"
        $p = Start-Timed $Signal 15 'Trace-KernelEvent -Event sched:sched_switch | ForEach-Object { if (-not $seen) { $seen = $true; [IO.File]::WriteAllText($ready, ''traced'') } }' $ready
        $p.WaitForExit(60000) | Should -BeTrue
        $p.ExitCode | Should -Be 124 -Because "timeout ended it (stderr: $($p.StandardError.ReadToEnd()))"
        Test-Path $ready | Should -BeTrue -Because 'the trace was running when the signal came'
        $child = Get-Content "$ready.pid"
        @(Get-ChildItem "$script:TraceFs/instances" -Name -Filter "kerneldebug-$child-*") | Should -BeNullOrEmpty
    }

    It 'Measure-SyscallLatency ended by SIGTERM leaves no BPF program and exits promptly' {
        $ready = Join-Path $TestDrive 'bpf'
        $p = Start-Timed 'TERM' 15 'Measure-SyscallLatency -Interval 0.5 -Continuous | ForEach-Object { [IO.File]::WriteAllText($ready, ''measured'') }' $ready
        $p.WaitForExit(60000) | Should -BeTrue
        $p.ExitCode | Should -Be 124 -Because "timeout ended it (stderr: $($p.StandardError.ReadToEnd()))"
        Test-Path $ready | Should -BeTrue -Because 'the measurement was running when the signal came'
        $child = [int](Get-Content "$ready.pid")
        $progs = bpftool prog show --json | ConvertFrom-Json
        @($progs | Where-Object { $_.pids.pid -contains $child }) | Should -BeNullOrEmpty
    }
}
