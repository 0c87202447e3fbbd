BeforeAll {
    Import-Module $env:KERNELDEBUG_MODULE -Force
    # One short system-wide measurement shared by the view and export tests.
    $script:Records = @(Measure-SyscallLatency -Duration 0:0:0.5 -Top 5)
}

Describe 'Measure-SyscallLatency' {
    It 'measures something on a live machine, sorted by total time' {
        $Records.Count | Should -BeGreaterThan 0
        $Records[0].Total | Should -BeGreaterOrEqual $Records[-1].Total
        $Records[0].Histogram.Count | Should -Be $Records[0].Count
    }
    It 'shows a table with human units' {
        $text = $Records | Format-Table | Out-String
        $text | Should -Match 'Syscall'
        $text | Should -Match '(µs|ms| s)'
    }
    It 'prints the histogram view like print_log2_hist' {
        $text = $Records[0] | Format-Custom -View Histogram | Out-String
        $text | Should -Match "syscall = $($Records[0].Syscall)"
        $text | Should -Match 'usecs\s+: count\s+distribution'
        $text | Should -Match '\|\*+ *\|'
    }
    It 'formats the Histogram type by itself' {
        $Records[0].Histogram | Out-String | Should -Match 'usecs\s+: count'
    }
    It 'exports flat columns to CSV, and histogram buckets as rows' {
        $csv = $Records | Select-Object Syscall, Count, Errors, Total, P50, P99, AttachMethod | ConvertTo-Csv | ConvertFrom-Csv
        $csv[0].Syscall | Should -Be $Records[0].Syscall
        $rows = $Records[0].Histogram.Buckets | ConvertTo-Csv | ConvertFrom-Csv
        ($rows | Measure-Object -Property Count -Sum).Sum | Should -Be $Records[0].Count
    }
    It 'leaves no kd_ program held by this process' {
        Get-BpfProgram kd_* | Where-Object { $_.OwnerProcessIds -contains $PID } | Should -BeNullOrEmpty
    }
    It 'completes syscall names' {
        $r = TabExpansion2 -inputScript 'Measure-SyscallLatency -Syscall getpp' -cursorColumn 37
        $r.CompletionMatches.CompletionText | Should -Contain 'getppid'
    }
}

Describe 'Get-BpfProgram' {
    It 'shows our programs, with this process as owner, while a measurement runs; none after' {
        $ps = [powershell]::Create()
        $null = $ps.AddCommand('Import-Module').AddArgument($env:KERNELDEBUG_MODULE).AddStatement().
            AddCommand('Measure-SyscallLatency').AddParameter('Duration', [timespan]'0:0:3')
        $handle = $ps.BeginInvoke()
        $deadline = (Get-Date).AddSeconds(15)
        do { $ours = @(Get-BpfProgram kd_sl_* | Where-Object { $_.OwnerProcessIds -contains $PID }) }
        while ($ours.Count -lt 2 -and (Get-Date) -lt $deadline -and -not $handle.IsCompleted)
        $text = $ours | Format-Table | Out-String -Width 200
        $null = $ps.EndInvoke($handle); $ps.Dispose()
        $ours.Count | Should -Be 2
        $text | Should -Match 'kd_sl_raw_'
        $text | Should -Match "\b$PID\b"
        foreach ($x in $ours) { $x.Id | Should -BeGreaterThan 0; $x.Type | Should -Be 'raw_tracepoint' }
        Get-BpfProgram kd_* | Where-Object { $_.OwnerProcessIds -contains $PID } | Should -BeNullOrEmpty
    }
}
