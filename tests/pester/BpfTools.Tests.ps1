BeforeAll {
    Import-Module $env:KERNELDEBUG_MODULE -Force
}

Describe 'Measure-BlockIoLatency' {
    BeforeAll {
        # Known I/O on a private loop device, so the records do not depend on what else the machine does.
        $script:img = Join-Path ([IO.Path]::GetTempPath()) "kd-pester-loop-$PID.img"
        $null = New-Item -ItemType File -Path $img -Force
        [IO.File]::Open($img, 'Open').SetLength(32MB)
        $script:dev = (losetup -f --show $img).Trim()
        $name = Split-Path $dev -Leaf
        $job = Start-ThreadJob { Start-Sleep -Milliseconds 700; dd if=/dev/zero of=$using:dev bs=8192 count=40 oflag=direct status=none }
        $script:Records = @(Measure-BlockIoLatency -Disk $name -ByDisk -ByOperation -Duration 0:0:2.5)
        $null = $job | Wait-Job | Receive-Job
        $script:Write = $Records | Where-Object Operation -eq 'Write'
    }
    AfterAll {
        if ($dev) { losetup -d $dev }
        Remove-Item $img -ErrorAction Ignore
    }
    It 'counts the direct writes' {
        $Write.Count | Should -Be 40
        $Write.Bytes | Should -Be (40 * 8192)
    }
    It 'shows a table with human units' {
        $text = $Records | Format-Table | Out-String -Width 200
        $text | Should -Match 'Throughput'
        $text | Should -Match 'KiB'
        $text | Should -Match '(µs|ms)'
    }
    It 'exports flat columns to CSV' {
        $csv = $Write | Select-Object Disk, Operation, Count, Bytes, Iops, Throughput, P50, P99 | ConvertTo-Csv | ConvertFrom-Csv
        [int]$csv.Count | Should -Be 40
        $csv.Disk | Should -Be $Write.Disk
    }
    It 'prints its histogram with Format-Histogram' {
        $Write | Format-Histogram | Should -Match 'usecs\s+: count'
    }
    It 'completes disk names' {
        $s = 'Measure-BlockIoLatency -Disk lo'
        $r = TabExpansion2 -inputScript $s -cursorColumn $s.Length
        $r.CompletionMatches.CompletionText | Should -Contain (Split-Path $dev -Leaf)
    }
    It 'leaves no kd_ program held by this process' {
        Get-BpfProgram kd_* | Where-Object { $_.OwnerProcessIds -contains $PID } | Should -BeNullOrEmpty
    }
}

Describe 'Measure-LockContention' {
    BeforeAll {
        # Pipe readers and writers contend on the pipe's mutex: some contention whatever else the machine does.
        $load = 1..2 | ForEach-Object {
            $psi = [Diagnostics.ProcessStartInfo]::new('sh')
            $psi.ArgumentList.Add('-c'); $psi.ArgumentList.Add('dd if=/dev/zero bs=64k count=60000 status=none | cat > /dev/null')
            [Diagnostics.Process]::Start($psi)
        }
        $script:Locks = @(Measure-LockContention -Duration 0:0:1.5 -ByCaller -Top 5)
        foreach ($p in $load) { if (-not $p.HasExited) { $p.Kill($true) }; $p.WaitForExit() }
    }
    It 'writes records sorted by total wait' {
        $Locks.Count | Should -BeGreaterThan 0
        $Locks[0].TotalWait | Should -BeGreaterOrEqual $Locks[-1].TotalWait
    }
    It 'shows a table with lock type and caller' {
        $text = $Locks | Format-Table | Out-String -Width 200
        $text | Should -Match 'LockType'
        $text | Should -Match '(spinlock|mutex|rwsem|rwlock)'
    }
    It 'survives remoting-style serialization with its view' {
        $d = [System.Management.Automation.PSSerializer]::Deserialize([System.Management.Automation.PSSerializer]::Serialize($Locks[0], 3))
        $d.PSObject.TypeNames[0] | Should -Be 'Deserialized.KernelDebug.Core.Bpf.Tools.LockContention'
        ($d | Format-Table | Out-String) | Should -Match 'LockType'
    }
    It 'leaves no kd_ program held by this process' {
        Get-BpfProgram kd_* | Where-Object { $_.OwnerProcessIds -contains $PID } | Should -BeNullOrEmpty
    }
}

Describe 'Measure-PacketDrop' {
    BeforeAll {
        # UDP datagrams to a port nothing listens on: the kernel drops each in __udp4_lib_rcv with reason NO_SOCKET.
        $probe = [Net.Sockets.UdpClient]::new([Net.IPEndPoint]::new([Net.IPAddress]::Loopback, 0))
        $script:port = $probe.Client.LocalEndPoint.Port
        $probe.Dispose()
        $job = Start-ThreadJob {
            Start-Sleep -Milliseconds 700
            $u = [Net.Sockets.UdpClient]::new()
            $target = [Net.IPEndPoint]::new([Net.IPAddress]::Loopback, $using:port)
            $bytes = [byte[]]::new(20)
            for ($i = 0; $i -lt 250; $i++) { $null = $u.Send($bytes, $bytes.Length, $target) }
            $u.Dispose()
        }
        $script:Drops = @(Measure-PacketDrop -Duration 0:0:2.5)
        $null = $job | Wait-Job | Receive-Job
        $script:Udp = @($Drops | Where-Object { $_.Reason -eq 'NO_SOCKET' -and $_.Function -eq '__udp4_lib_rcv' -and $_.Protocol -eq 'IPv4' })
    }
    It 'counts exactly the datagrams sent to the closed port, with their bytes' {
        $Udp.Count | Should -Be 1
        $Udp[0].Count | Should -Be 250
        $Udp[0].Bytes | Should -Be (250 * (20 + 8))
    }
    It 'writes records sorted by count' {
        $Drops[0].Count | Should -BeGreaterOrEqual $Drops[-1].Count
    }
    It 'shows a table with reason, protocol and the symbolized location' {
        $text = $Udp | Format-Table | Out-String -Width 200
        $text | Should -Match 'NO_SOCKET'
        $text | Should -Match 'IPv4'
        $text | Should -Match '__udp4_lib_rcv\+0x'
    }
    It 'exports flat columns to CSV' {
        $Udp | Export-Csv -Path TestDrive:/drops.csv
        $rows = @(Import-Csv TestDrive:/drops.csv)
        $rows[0].Reason | Should -Be 'NO_SOCKET'
        $rows[0].LocationHex | Should -Match '^0x[0-9a-f]+$'
        [int]$rows[0].Count | Should -Be 250
    }
    It 'survives remoting-style serialization with its view' {
        $d = [System.Management.Automation.PSSerializer]::Deserialize([System.Management.Automation.PSSerializer]::Serialize($Udp[0], 3))
        $d.PSObject.TypeNames[0] | Should -Be 'Deserialized.KernelDebug.Core.Bpf.Tools.PacketDrop'
        ($d | Format-Table | Out-String -Width 200) | Should -Match 'NO_SOCKET'
    }
    It 'completes drop reasons from the kernel''s BTF' {
        $s = 'Measure-PacketDrop -Reason NO_SO'
        $r = TabExpansion2 -inputScript $s -cursorColumn $s.Length
        $r.CompletionMatches.CompletionText | Should -Contain 'NO_SOCKET'
        $r.CompletionMatches[0].ToolTip | Should -Match '^SKB_DROP_REASON_NO_SOCKET \(\d+\)$'
    }
    It 'names a reason that does not exist' {
        { Measure-PacketDrop -Reason NO_SUCH_REASON -Duration 0:0:1 } | Should -Throw -ErrorId 'UnknownDropReason*'
    }
    It 'leaves no kd_ program held by this process' {
        Get-BpfProgram kd_* | Where-Object { $_.OwnerProcessIds -contains $PID } | Should -BeNullOrEmpty
    }
}

Describe 'Trace-KernelMemoryLeak' {
    BeforeAll {
        $script:Leaks = @(Trace-KernelMemoryLeak -ProcessId $PID -Duration 0:0:1 -Top 5)
    }
    It 'writes outstanding allocation groups with a symbolized site' {
        $Leaks.Count | Should -BeGreaterThan 0
        $Leaks[0].Site | Should -Not -BeNullOrEmpty
        $Leaks[0].Bytes | Should -BeGreaterOrEqual $Leaks[-1].Bytes
    }
    It 'shows a table with human units' {
        $text = $Leaks | Format-Table | Out-String -Width 200
        $text | Should -Match 'OldestAge'
        $text | Should -Match '( B|KiB|MiB)'
    }
    It 'exports flat columns to CSV' {
        $csv = $Leaks | Select-Object Site, Allocator, Count, Bytes, OldestAge | ConvertTo-Csv | ConvertFrom-Csv
        $csv[0].Site | Should -Be $Leaks[0].Site
    }
}

Describe 'Measure-KernelCpuProfile' {
    BeforeAll {
        $psi = [Diagnostics.ProcessStartInfo]::new('sh')
        $psi.ArgumentList.Add('-c'); $psi.ArgumentList.Add('while :; do :; done')
        $script:busy = [Diagnostics.Process]::Start($psi)
        $script:Samples = @(Measure-KernelCpuProfile -Duration 0:0:1.5)
        $script:svg = Join-Path ([IO.Path]::GetTempPath()) "kd-pester-cpu-$PID.svg"
    }
    AfterAll {
        if ($busy -and -not $busy.HasExited) { $busy.Kill(); $busy.WaitForExit() }
        Remove-Item $svg -ErrorAction Ignore
    }
    It 'samples the busy loop most' {
        $top = $Samples | Group-Object ProcessId | Sort-Object { ($_.Group | Measure-Object Count -Sum).Sum } -Descending | Select-Object -First 3
        $top.Name | Should -Contain ([string]$busy.Id)
    }
    It 'shows a table of stacks' {
        ($Samples | Format-Table | Out-String -Width 200) | Should -Match 'Stack \(leaf first\)'
    }
    It 'folds into a flame graph' {
        $Samples | ConvertTo-FoldedStack -IncludeCommand | Export-FlameGraph -Path $svg
        (Get-Content $svg -Raw) | Should -Match '<svg'
        (Get-Content $svg -Raw) | Should -Match 'sh'
    }
    It 'summarizes top functions' {
        $top = [KernelDebug.Core.Bpf.Tools.KernelCpuFunction]::Summarize([KernelDebug.Core.Bpf.Tools.KernelCpuSample[]]$Samples)
        $top[0].Self | Should -BeGreaterThan 0
        ($top | Select-Object -First 3 | Format-Table | Out-String) | Should -Match 'Self%'
    }
    It 'leaves no kd_ program held by this process' {
        Get-BpfProgram kd_* | Where-Object { $_.OwnerProcessIds -contains $PID } | Should -BeNullOrEmpty
    }
}

Describe 'Measure-InterruptTime' {
    BeforeAll {
        # Loopback UDP is delivered through NET_RX; the timer softirq runs on every CPU anyway.
        $script:Records = @(Measure-InterruptTime -Duration 1 -Kind Soft, Hard)
        $script:Job = Start-ThreadJob {
            $rx = [Net.Sockets.UdpClient]::new([Net.IPEndPoint]::new([Net.IPAddress]::Loopback, 0))
            $tx = [Net.Sockets.UdpClient]::new()
            $bytes = [byte[]]::new(256)
            # For 2 s, so the 1.5 s measurement started beside it overlaps at least a second of traffic.
            $sw = [Diagnostics.Stopwatch]::StartNew()
            while ($sw.Elapsed.TotalSeconds -lt 2) { $null = $tx.Send($bytes, $bytes.Length, $rx.Client.LocalEndPoint); $null = $rx.Receive([ref]$null) }
            $rx.Dispose(); $tx.Dispose()
        }
        $script:NetRx = @(Measure-InterruptTime -Kind Soft -Name NET_RX -Duration 1.5)
        $null = $Job | Wait-Job | Receive-Job
    }
    It 'sees the timer softirq' {
        $Records | Where-Object { $_.Kind -eq 'Soft' -and $_.Name -eq 'TIMER' } | ForEach-Object Count | Should -BeGreaterThan 0
    }
    It 'sees NET_RX for loopback traffic' {
        ($NetRx | Measure-Object Count -Sum).Sum | Should -BeGreaterOrEqual 200
        $NetRx.Name | Select-Object -Unique | Should -Be 'NET_RX'
    }
    It 'sorts the most time first' {
        for ($i = 1; $i -lt $Records.Count; $i++) { $Records[$i - 1].Total | Should -BeGreaterOrEqual $Records[$i].Total }
    }
    It 'shows a table with human units' {
        $text = $Records | Format-Table | Out-String -Width 200
        $text | Should -Match 'CPU %'
        $text | Should -Match '(µs|ms)'
    }
    It 'exports flat columns to CSV' {
        $csv = $Records | Select-Object Kind, Irq, Name, Count, Total, CpuPercent | ConvertTo-Csv | ConvertFrom-Csv
        $csv.Count | Should -Be $Records.Count
        $csv[0].Name | Should -Be $Records[0].Name
    }
    It 'completes handler and vector names' {
        $s = 'Measure-InterruptTime -Name NET_'
        $r = TabExpansion2 -inputScript $s -cursorColumn $s.Length
        $r.CompletionMatches.CompletionText | Should -Contain 'NET_RX'
        $s = 'Measure-InterruptTime -Name virtio'
        $r = TabExpansion2 -inputScript $s -cursorColumn $s.Length
        $r.CompletionMatches.Count | Should -BeGreaterThan 0
    }
    It 'leaves no kd_ program held by this process' {
        Get-BpfProgram kd_* | Where-Object { $_.OwnerProcessIds -contains $PID } | Should -BeNullOrEmpty
    }
}
