# ftrace cmdlets in real pwsh: views, CSV export, pipeline chaining, and the top tracefs instance left as found.
BeforeAll {
    Import-Module $env:KERNELDEBUG_MODULE -Force
    function Get-TopState {
        $state = @{}
        foreach ($f in 'current_tracer', 'set_event', 'set_ftrace_filter', 'tracing_on', 'buffer_size_kb', 'trace_options') {
            try { $state[$f] = [IO.File]::ReadAllBytes("$script:TraceFs/$f") -join ',' } catch { }
        }
        $state
    }
}

Describe 'ftrace cmdlets' {
    BeforeEach {
        Get-KernelTracepoint raw_syscalls:sys_enter | Out-Null # mounts tracefs if needed
        # The tracefs the module uses, by its own rule (with debugfs mounted there are two).
        $script:TraceFs = (Get-KernelDebugCapability TraceFs).Detail
        $script:Before = Get-TopState
    }
    AfterEach {
        $after = Get-TopState
        foreach ($k in $script:Before.Keys) { $after[$k] | Should -Be $script:Before[$k] -Because "$k of the top instance must not change" }
        @(Get-ChildItem "$script:TraceFs/instances" -Name -Filter "kerneldebug-$PID-*") | Should -BeNullOrEmpty
    }

    It 'describes a tracepoint and formats its fields' {
        $tp = Get-KernelTracepoint raw_syscalls:sys_enter
        $tp.Id | Should -Be ([int]((Get-Content "$script:TraceFs/events/raw_syscalls/sys_enter/format" | Select-String '^ID: (\d+)').Matches[0].Groups[1].Value))
        ($tp.Fields | Where-Object Name -eq 'args').ArrayLength | Should -Be 6
        $tp | Out-String | Should -Match 'raw_syscalls\s+sys_enter'
        $tp.Fields | Format-Table | Out-String | Should -Match 'unsigned long\[6\]'
    }

    It 'traces the exec of a child it starts, and exports to CSV' {
        $events = Trace-KernelEvent -Event sched:sched_process_exec -ScriptBlock { $global:kdChild = Start-Process /usr/bin/true -PassThru -Wait }
        $mine = $events | Where-Object ProcessId -eq $global:kdChild.Id
        $mine.Fields.filename | Should -Be '/usr/bin/true'
        $mine | Out-String | Should -Match 'sched:sched_process_exec'
        $csv = $mine | Select-Object Time, Cpu, ProcessId, Command, Name | ConvertTo-Csv | ConvertFrom-Csv
        $csv.Name | Should -Be 'sched:sched_process_exec'
        $csv.ProcessId | Should -Be "$($global:kdChild.Id)"
    }

    It 'chains Start, Get, Stop, Receive and Remove by name' {
        $c = Start-FtraceCapture -Event sched:sched_process_exec -Name "pester-$PID"
        try {
            $p = Start-Process /usr/bin/true -PassThru -Wait
            Get-FtraceCapture -Name "pester-$PID" | Stop-FtraceCapture
            (Get-FtraceCapture -Name "pester-$PID").State | Should -Be 'Stopped'
            $ev = Get-FtraceCapture -Name "pester-$PID" | Receive-FtraceCapture
            ($ev | Where-Object ProcessId -eq $p.Id).Fields.filename | Should -Be '/usr/bin/true'
        }
        finally {
            Get-FtraceCapture -Name "pester-$PID" | Remove-FtraceCapture
        }
        Test-Path $c.Instance | Should -BeFalse
    }

    It 'refuses -Function before creating anything when the kernel forbids the function tracer' {
        $refused = $false
        try { [IO.File]::OpenRead("$script:TraceFs/available_filter_functions").ReadByte() | Out-Null } catch { $refused = $true }
        if (-not $refused) { Set-ItResult -Skipped -Because 'the function tracer is allowed on this kernel' ; return }
        { Start-FtraceCapture -Function 'vfs_*' -ErrorAction Stop } | Should -Throw -ErrorId 'FunctionTracerRefused*'
        { Measure-KernelFunction -Name vfs_read -ErrorAction Stop } | Should -Throw -ErrorId 'KernelFunctionCountingUnavailable*'
    }
}

Describe 'Get-FtraceEvent' {
    It 'reads a file trace-cmd extracted from an instance this test filled' -Skip:(-not (Get-Command trace-cmd -ErrorAction SilentlyContinue)) {
        $dat = Join-Path ([IO.Path]::GetTempPath()) "kd-pester-$PID.dat"
        $c = Start-FtraceCapture -Event sched:sched_process_exec -Name "pester-dat-$PID"
        try {
            $p = Start-Process /usr/bin/true -PassThru -Wait
            Stop-FtraceCapture -Name $c.Name
            trace-cmd extract -B $c.Name -o $dat *> $null
            Test-Path $c.Instance | Should -BeFalse -Because 'trace-cmd extract -B deletes the instance it read'
            $ev = Get-ChildItem $dat | Get-FtraceEvent
            ($ev | Where-Object ProcessId -eq $p.Id).Fields.filename | Should -Be '/usr/bin/true'
            ($ev | Group-Object Name).Name | Should -Be 'sched:sched_process_exec'
        }
        finally {
            Remove-FtraceCapture -Name $c.Name -ErrorAction SilentlyContinue
            Remove-Item $dat -ErrorAction SilentlyContinue
        }
        Test-Path "/run/kerneldebug/ftrace/$($c.Name).json" | Should -BeFalse -Because 'the owner marker of a removed instance goes too'

    }
}
