BeforeAll {
    Import-Module $env:KERNELDEBUG_MODULE -Force
    $script:Fixtures = Join-Path $PSScriptRoot '../fixtures/kmsg'
}

Describe 'Get-KernelMessage' {
    It 'exports live messages to CSV with their columns' {
        $marker = "kerneldebug-test-$([guid]::NewGuid().ToString('N'))"
        [IO.File]::WriteAllText('/dev/kmsg', "<4>$marker`n")
        $csv = Join-Path $TestDrive 'kmsg.csv'
        Get-KernelMessage | Export-Csv -Path $csv
        $rows = Import-Csv $csv
        $row = $rows | Where-Object Text -eq $marker
        $row | Should -HaveCount 1
        $row.Level | Should -Be 'Warning'
        $row.Sequence | Should -Match '^\d+$'
        $rows[0].PSObject.Properties.Name | Should -Contain 'Uptime'
    }

    It 'reads every fixture format to the same story' {
        $texts = foreach ($f in 'journal.json', 'kern.log', 'syslog-rfc5424.log', 'journal-short-monotonic.txt') {
            (Get-KernelMessage -Path (Join-Path $Fixtures $f) | Select-Object -First 9 -Skip 8).Text
        }
        $texts | Sort-Object -Unique | Should -HaveCount 1
    }

    It 'shows a table with uptime, level and text' {
        $out = Get-KernelMessage -Path (Join-Path $Fixtures 'dmesg-r.txt') | Select-Object -First 3 | Out-String
        $out | Should -Match 'Uptime/Time\s+Level\s+Text'
        $out | Should -Match 'Linux version'
    }

    It 'shows the wall-clock time of dmesg -T whole, not cut into the uptime column' {
        $m = Get-KernelMessage -Path (Join-Path $Fixtures 'dmesg-T.txt') | Select-Object -First 1
        $m.Uptime | Should -BeNullOrEmpty
        $m.Time.LocalDateTime.ToString('yyyy-MM-dd HH:mm:ss') | Should -Be '2026-11-27 07:51:40'
        $out = $m | Out-String -Width 200
        $out | Should -Match '2026-11-27 07:51:40 +\S* *Linux version'
    }

    It 'explains the time drift in its help' {
        (Get-Help Get-KernelMessage -Full | Out-String) | Should -Match 'suspend'
    }
}

Describe 'Get-KernelOomEvent' {
    It 'exports OOM events to CSV with byte sizes' {
        $csv = Join-Path $TestDrive 'oom.csv'
        Get-KernelOomEvent -Path (Join-Path $Fixtures 'oom-*.txt') | Export-Csv -Path $csv
        $rows = Import-Csv $csv
        $rows | Should -HaveCount 3
        ($rows | Where-Object VictimProcessId -eq 4242).AnonRssBytes | Should -Be (7806800 * 1024)
        ($rows | Where-Object VictimProcessId -eq 9876).Constraint | Should -Be 'Memcg'
    }
}
