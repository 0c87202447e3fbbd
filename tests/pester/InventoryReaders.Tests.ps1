# Views and Export-Csv for every inventory record type, against the live kernel and the db1 fixture.
BeforeAll {
    Import-Module $env:KERNELDEBUG_MODULE -Force
    $script:Db1 = Join-Path $PSScriptRoot '../fixtures/inventory/db1'
    function Get-View([object[]] $InputObject, [string] $Format = 'Table') {
        ($InputObject | & "Format-$Format" | Out-String -Width 250)
    }
}

Describe 'inventory views' {
    It 'shows the capability table with reasons for missing facilities' {
        $text = Get-View (Get-KernelDebugCapability)
        $text | Should -Match 'Detail / Reason'
        $text | Should -Match 'Btf\s+True'
        $k = Get-KernelDebugCapability Kprobes
        if (-not $k.Available) { $text | Should -Match 'CONFIG_KPROBES' }
    }
    It 'shows memory in human units while the properties stay bytes' {
        $m = Get-MemoryInfo
        $m.MemTotal | Should -BeOfType [long]
        (Get-View $m -Format List) | Should -Match 'Total\s+:\s+[\d.,]+ GiB'
    }
    It 'shows CPU usage as a percentage table' {
        (Get-View (Get-CpuStat -Interval 00:00:00.3)) | Should -Match 'User%.*Busy%.*Ctxt/s'
        (Get-View (Get-CpuStat)) | Should -Match 'User\s+Nice'
    }
    It 'shows load, pressure, sysctl and config tables' {
        (Get-View (Get-LoadAverage -Root $Db1)) | Should -Match '3\.20\s+2\.40\s+1\.60\s+8\s+0\.40'
        (Get-View (Get-PressureStall -Root $Db1 io)) | Should -Match 'io\s+20\.0\s+10\.0\s+5\.0\s+5,000\.0s\s+15\.0'
        (Get-View (Get-KernelSysctl kernel.ngroups_max -Root $Db1)) | Should -Match 'kernel\.ngroups_max\s+65536\s+(True|False)'
        (Get-View (Get-KernelConfig HZ -Root $Db1)) | Should -Match 'CONFIG_HZ\s+250\s+Number'
    }
    It 'shows a snapshot manifest as a list' {
        $dir = Join-Path ([IO.Path]::GetTempPath()) "kd-pester-snap-$PID"
        try {
            $text = Get-View (Save-KernelSnapshot -Root $Db1 -Path $dir) -Format List
            $text | Should -Match 'HostName\s+:\s+db1'
            $text | Should -Match 'Omitted\s+:.*btf'
        } finally { Remove-Item -Recurse -Force $dir -ErrorAction SilentlyContinue }
    }
}

Describe 'inventory Export-Csv' {
    It 'exports <Name> with useful columns' -ForEach @(
        @{ Name = 'capabilities'; Script = { Get-KernelDebugCapability }; Columns = 'Name', 'Available', 'Reason', 'Remedy' }
        @{ Name = 'memory'; Script = { Get-MemoryInfo }; Columns = 'MemTotal', 'Used', 'UsedPercent', 'SlabUnreclaimable' }
        @{ Name = 'cpu usage'; Script = { Get-CpuStat -Interval 00:00:00.2 }; Columns = 'Cpu', 'UserPercent', 'ContextSwitchesPerSecond' }
        @{ Name = 'cpu times'; Script = { Get-CpuStat }; Columns = 'Cpu', 'User', 'Idle' }
        @{ Name = 'load'; Script = { Get-LoadAverage }; Columns = 'Load1', 'Load1PerCpu', 'Running' }
        @{ Name = 'pressure'; Script = { Get-PressureStall }; Columns = 'Resource', 'SomeAvg10', 'SomeTotal' }
        @{ Name = 'sysctl'; Script = { Get-KernelSysctl kernel.* }; Columns = 'Name', 'Value', 'Writable' }
        @{ Name = 'config'; Script = { Get-KernelConfig *BPF* }; Columns = 'Name', 'Value', 'Kind' }
    ) {
        $objects = @(& $Script)
        $objects.Count | Should -BeGreaterThan 0
        $csv = $objects | ConvertTo-Csv | ConvertFrom-Csv
        $csv.Count | Should -Be $objects.Count
        foreach ($c in $Columns) { $csv[0].PSObject.Properties.Name | Should -Contain $c }
        $csv[0].($Columns[0]) | Should -Not -BeNullOrEmpty
    }
    It 'exports memory totals equal to /proc/meminfo' {
        $kb = [long]((Get-Content /proc/meminfo -TotalCount 1) -split '\s+')[1]
        [long](Get-MemoryInfo | ConvertTo-Csv | ConvertFrom-Csv).MemTotal | Should -Be ($kb * 1024)
    }
}
