# Memory, slab, blocked tasks, locks and hardware errors as a user meets them: pipelines, views, CSV.
BeforeAll {
    Import-Module $env:KERNELDEBUG_MODULE -Force
    $script:Fixtures = Join-Path $PSScriptRoot '../fixtures/memory'
    $script:Csv = Join-Path ([IO.Path]::GetTempPath()) "kd-memory-$PID.csv"
}
AfterAll { Remove-Item $Csv -ErrorAction SilentlyContinue }

Describe 'Get-SlabCache' {
    It 'lists the caches /proc/slabinfo lists' {
        $names = Get-Content /proc/slabinfo | Select-Object -Skip 2 | ForEach-Object { ($_ -split '\s+')[0] }
        (Get-SlabCache).Count | Should -Be $names.Count
    }
    It 'sorts by memory and exports to CSV with raw byte counts' {
        Get-SlabCache | Sort-Object TotalBytes -Descending | Select-Object -First 5 | Export-Csv $Csv
        $rows = Import-Csv $Csv
        $rows.Count | Should -Be 5
        [long]$rows[0].TotalBytes | Should -BeGreaterOrEqual ([long]$rows[4].TotalBytes)
        $rows[0].PSObject.Properties.Name | Should -Contain 'Reclaimable'
    }
    It 'shows the largest cache as slabtop does' {
        $ours = Get-SlabCache -Top 1
        $slabtop = slabtop -o -s c | Select-Object -Skip 7 -First 1
        ($slabtop -split '\s+' | Where-Object { $_ })[-1] | Should -Be $ours.Name
    }
    It 'formats as a table with human sizes, also after remoting serialization' {
        $x = Get-SlabCache -Top 3
        ($x | Out-String -Width 80) | Should -Match 'CacheSize'
        $d = [Management.Automation.PSSerializer]::Deserialize([Management.Automation.PSSerializer]::Serialize($x))
        ($d | Out-String) | Should -Match '(KiB|MiB|GiB)'
    }
    It 'summarises like slabtop''s header' {
        (Get-SlabCache -Summary | Out-String) | Should -Match 'Unreclaimable'
    }
}

Describe 'Get-VmStat and Get-MemoryFragmentation' {
    It 'exports the counters to CSV' {
        Get-VmStat | Export-Csv $Csv
        (Import-Csv $Csv).PSObject.Properties.Name | Should -Contain 'PagesScannedDirect'
    }
    It 'gives rates per interval as a table' {
        $r = Get-VmStat -Interval 00:00:00.3 -Count 1
        $r.Interval.TotalSeconds | Should -BeGreaterThan 0.25
        ($r | Out-String) | Should -Match 'ScanDirect/s'
    }
    It 'sorts counters by name pattern' {
        $rows = Get-VmStat -Name 'pgscan*' | Sort-Object Value -Descending
        $rows.Name | Should -Contain 'pgscan_direct'
    }
    It 'sorts zones by fragmentation' {
        $z = Get-MemoryFragmentation | Sort-Object FragmentationPercent -Descending
        $z.Count | Should -Be (Get-Content /proc/buddyinfo).Count
        $z | Export-Csv $Csv
        (Import-Csv $Csv)[0].Zone | Should -Be $z[0].Zone
    }
}

Describe 'Get-BlockedTask' {
    It 'finds a sleeping process by name and exports its stack summary' {
        $p = Start-Process sleep 30 -PassThru
        try {
            Start-Sleep -Milliseconds 200
            $t = Get-BlockedTask -State Sleeping -ProcessId $p.Id
            $t.WaitChannel | Should -Be 'hrtimer_nanosleep'
            $t | Export-Csv $Csv
            (Import-Csv $Csv).StackSummary | Should -Match 'nanosleep'
        }
        finally { $p | Stop-Process }
    }
}

Describe 'Get-LockStat, Get-EdacError and Get-MachineCheck' {
    It 'stops with an error naming CONFIG_LOCK_STAT on this kernel' -Skip:(Test-Path /proc/lock_stat) {
        { Get-LockStat -ErrorAction Stop } | Should -Throw -ErrorId 'LockStatUnavailable*'
    }
    It 'stops with an error naming CONFIG_EDAC on this kernel' -Skip:(Test-Path /sys/devices/system/edac) {
        $e = { Get-EdacError } | Should -Throw -PassThru
        $e.ErrorDetails.RecommendedAction | Should -Match 'CONFIG_EDAC'
    }
    It 'sorts lock classes by wait time from a fixture' {
        $top = Get-LockStat -Root "$Fixtures/lockdep" | Sort-Object WaitTimeTotal -Descending | Select-Object -First 1
        $top.Class | Should -Be '&mm->mmap_sem'
        $top.Access | Should -Be 'Read'
        (Get-LockStat -Root "$Fixtures/lockdep" | Out-String) | Should -Match 'Contentions'
    }
    It 'exports the worst memory module first' {
        Get-EdacError -Root "$Fixtures/edac" | Sort-Object CorrectedErrors -Descending | Export-Csv $Csv
        (Import-Csv $Csv)[0].Label | Should -Be 'CPU_SrcID#0_MC#0_Chan#0_DIMM#1'
    }
    It 'groups machine checks from a saved log by class' {
        $g = Get-MachineCheck -Path "$Fixtures/mce/dmesg.txt" | Group-Object ErrorClass | Sort-Object Name
        $g.Name | Should -Be @('Bus', 'InternalParity', 'MemoryController')
        (Get-MachineCheck -Path "$Fixtures/mce/dmesg.txt" | Out-String) | Should -Match 'Fatal'
    }
}
