# The example scripts in examples/ run as documented.
BeforeAll {
    Import-Module $env:KERNELDEBUG_MODULE -Force
    $script:Repo = (Resolve-Path "$PSScriptRoot/../..").Path
}

Describe 'examples/Investigate-IntermittentPanic.ps1' {
    BeforeAll {
        $script:Dir = Join-Path ([IO.Path]::GetTempPath()) "kd-panic-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
        New-Item -ItemType Directory $Dir | Out-Null
        # The same crash on two machines, and another one on a third.
        Copy-Item "$Repo/tests/fixtures/oops/null-deref-module.log" "$Dir/web1-console.log"
        Copy-Item "$Repo/tests/fixtures/oops/null-deref-module.log" "$Dir/web2-console.log"
        Copy-Item "$Repo/tests/fixtures/oops/two-warnings.log" "$Dir/db1-console.log"
        $script:Output = & "$Repo/examples/Investigate-IntermittentPanic.ps1" -LogPath "$Dir/*.log" 6>&1 | Out-String
    }
    AfterAll { Remove-Item -Recurse -Force $Dir -ErrorAction SilentlyContinue }

    It 'groups the same crash on two machines under one signature' {
        $expected = (Get-KernelOops -Path "$Dir/web1-console.log")[0].Title
        $Output | Should -Match "2\s+web1,web2\s+\d+\s+\w+\s+$([regex]::Escape($expected))"
    }
    It 'lists the guilty frames and what to enable next' {
        $Output | Should -Match '== Top guilty frames'
        $Output | Should -Match '\[/\] Kdump: '
    }
}

Describe 'examples/ scripts import the module by path when it is not installed' {
    It '<Name> runs in a pwsh whose PSModulePath does not hold the module' -ForEach @(
        @{ Name = 'Investigate-IntermittentPanic.ps1'; Script = { "& '$Repo/examples/Investigate-IntermittentPanic.ps1' -LogPath '$Repo/tests/fixtures/oops/two-warnings.log'" }; Expect = '== Top guilty frames' }
    ) {
        $pwshDll = [Environment]::GetCommandLineArgs()[0]
        $dotnet = (Get-Process -Id $PID).Path
        $psi = [Diagnostics.ProcessStartInfo]::new($dotnet)
        foreach ($a in $pwshDll, '-NoProfile', '-NonInteractive', '-Command', "`$env:PSModulePath = ''; $(& $Script) *>&1 | Out-String") { $psi.ArgumentList.Add($a) }
        $psi.RedirectStandardOutput = $true
        $psi.Environment['PSModulePath'] = ''
        $p = [Diagnostics.Process]::Start($psi)
        $out = $p.StandardOutput.ReadToEnd()
        $p.WaitForExit(120000) | Should -BeTrue
        $out | Should -Match ([regex]::Escape($Expect))
        $out | Should -Not -Match 'was not loaded because no valid module file was found'
    }
}

# Every README and Get-Help example runs as written: each one binds and runs in a fresh runspace in a scratch folder
# (stopped after a few seconds if it is a long measurement); only errors that say this machine lacks a kernel
# feature or hardware (NotImplemented, ResourceUnavailable, ObjectNotFound) are allowed.
BeforeDiscovery {
    $repo = (Resolve-Path "$PSScriptRoot/../..").Path
    Import-Module $env:KERNELDEBUG_MODULE -Force
    # Needs other machines (remoting), or would stop captures that other processes own.
    # Needs other machines (remoting) or a process this machine does not run (nginx, postgres), or would stop, read
    # or remove captures that other processes own (Get-FtraceCapture lists every KernelDebug capture on the machine).
    $skip = 'Invoke-Command -HostName|^dotnet pwsh|^Import-Module|Get-FtraceCapture \||Get-Process nginx|^Get-Help'
    $script:ExampleCases = [System.Collections.Generic.List[hashtable]]::new()
    $inBlock = $false; $pending = ''
    foreach ($line in Get-Content "$repo/README.md") {
        if ($line -match '^```powershell') { $inBlock = $true; continue }
        if ($line -match '^```') { $inBlock = $false; continue }
        if (-not $inBlock -or -not $line.Trim()) { continue }
        $code = ($pending + "`n" + $line).Trim()
        if ($line.TrimEnd().EndsWith('|')) { $pending = $code; continue }
        $pending = ''
        if ($code -notmatch $skip) { $ExampleCases.Add(@{ Source = 'README'; Code = $code }) }
    }
    # A README line that uses a variable set by the line before it ($c = Start-FtraceCapture ...) runs with it.
    for ($i = 1; $i -lt $ExampleCases.Count; $i++) {
        if ($ExampleCases[$i].Code -match '\$c\.' -and $ExampleCases[$i - 1].Code -match '^\$c = ') {
            $ExampleCases[$i].Code = $ExampleCases[$i - 1].Code + "`n" + $ExampleCases[$i].Code + "`nRemove-FtraceCapture -Name `$c.Name"
        }
    }
    foreach ($cmd in Get-Command -Module KernelDebug -CommandType Cmdlet) {
        $n = 0
        foreach ($ex in (Get-Help $cmd.Name -Examples).examples.example) {
            $n++
            $code = ($ex.code -join "`n").Trim()
            if ($code -and $code -notmatch $skip) { $ExampleCases.Add(@{ Source = "$($cmd.Name) example $n"; Code = $code }) }
        }
    }
}

Describe 'README and help examples run as written' {
    BeforeAll {
        # What this machine lacks (a kernel feature, hardware, a file, lockdown refusing root) and an assertion that
        # fails because the machine is unhealthy (Assert-KernelHealth's documented outcome) are not example faults.
        $script:Allowed = 'NotImplemented', 'ResourceUnavailable', 'ObjectNotFound', 'PermissionDenied', 'InvalidResult'
        # One runspace with the module imported serves every example (importing per example costs seconds).
        $script:Runspace = [runspacefactory]::CreateRunspace()
        $Runspace.Open()
        $init = [powershell]::Create(); $init.Runspace = $Runspace
        $null = $init.AddScript("Import-Module '$env:KERNELDEBUG_MODULE'; `$ProgressPreference = 'SilentlyContinue'").Invoke(); $init.Dispose()
        function Invoke-Example([string] $Code, [string] $Dir) {
            $ps = [powershell]::Create()
            $ps.Runspace = $script:Runspace
            $null = $ps.AddScript("Set-Location '$Dir'`n. {`n$Code`n} | Out-Null")
            $handle = $ps.BeginInvoke()
            # Long measurements are stopped once they run: binding and starting is what "runs as written" checks.
            if (-not $handle.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds(1.5))) { $ps.Stop() }
            $terminating = $null
            try { $null = $ps.EndInvoke($handle) } catch { $terminating = $_.Exception.InnerException.ErrorRecord ?? $_.Exception.ErrorRecord ?? $_ }
            $errors = @($ps.Streams.Error) + @($terminating | Where-Object { $_ -and $_.FullyQualifiedErrorId -notmatch 'PipelineStopped' })
            $ps.Dispose()
            # Removes what an example created and left for the user on purpose (a capture started by Start-FtraceCapture).
            Get-FtraceCapture | Where-Object OwnerProcessId -eq $PID | Remove-FtraceCapture -ErrorAction SilentlyContinue
            $errors
        }
    }
    AfterAll { $script:Runspace.Dispose() }

    It '<Source>: <Code>' -ForEach $ExampleCases {
        $dir = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        New-Item -ItemType Directory $dir | Out-Null
        $errors = @(Invoke-Example $Code $dir)
        $bad = @($errors | Where-Object { $_.CategoryInfo.Category.ToString() -notin $Allowed })
        ($bad | ForEach-Object { "$($_.FullyQualifiedErrorId): $_" }) -join "`n" | Should -BeNullOrEmpty
        # The kernel is left as found: no capture of this process outlives its example.
        @(Get-FtraceCapture | Where-Object OwnerProcessId -eq $PID) | Should -BeNullOrEmpty
    }
}
