# Records survive PowerShell remoting over SSH and print with the same views; the module installs from a package.
BeforeAll {
    Import-Module $env:KERNELDEBUG_MODULE -Force
    $script:ModuleDir = Split-Path $env:KERNELDEBUG_MODULE
    $script:Pwsh = Join-Path $PSHOME 'pwsh.dll'
}

Describe 'Fleet over SSH remoting (loopback sshd)' {
    BeforeAll {
        $script:Dir = Join-Path ([IO.Path]::GetTempPath()) "kd-sshd-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
        New-Item -ItemType Directory $Dir | Out-Null
        ssh-keygen -q -t ed25519 -N '' -f "$Dir/host_key" | Out-Null
        ssh-keygen -q -t ed25519 -N '' -f "$Dir/client_key" | Out-Null
        Copy-Item "$Dir/client_key.pub" "$Dir/authorized_keys"
        # pwsh as the 'powershell' subsystem: the same pinned pwsh, started through dotnet.
        Set-Content "$Dir/pwsh-subsystem" "#!/bin/sh`nexec dotnet '$Pwsh' -sshs -NoLogo -NoProfile"
        chmod 755 "$Dir/pwsh-subsystem"
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start(); $script:Port = $listener.LocalEndpoint.Port; $listener.Stop()
        @"
Port $Port
ListenAddress 127.0.0.1
HostKey $Dir/host_key
AuthorizedKeysFile $Dir/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $Dir/sshd.pid
Subsystem powershell $Dir/pwsh-subsystem
"@ | Set-Content "$Dir/sshd_config"
        New-Item -ItemType Directory -Force /run/sshd | Out-Null
        $script:Sshd = Start-Process /usr/sbin/sshd -ArgumentList '-D', '-f', "$Dir/sshd_config", '-E', "$Dir/sshd.log" -PassThru
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        do {
            Start-Sleep -Milliseconds 100
            $client = [System.Net.Sockets.TcpClient]::new()
            $up = try { $client.Connect('127.0.0.1', $Port); $true } catch { $false } finally { $client.Dispose() }
        } until ($up -or [DateTime]::UtcNow -gt $deadline)
        $script:Remote = @{
            HostName = '127.0.0.1'; Port = $Port; UserName = 'root'; KeyFilePath = "$Dir/client_key"
            Options = @{ StrictHostKeyChecking = 'no'; UserKnownHostsFile = '/dev/null'; LogLevel = 'ERROR' }
        }
    }
    AfterAll {
        if ($Sshd -and -not $Sshd.HasExited) { Stop-Process -Id $Sshd.Id -Force; $Sshd.WaitForExit(5000) | Out-Null }
        Remove-Item -Recurse -Force $Dir -ErrorAction SilentlyContinue
    }

    It 'started the sshd it tests against' {
        $Sshd.HasExited | Should -BeFalse -Because (Get-Content "$Dir/sshd.log" -Raw -ErrorAction SilentlyContinue)
    }

    It 'returns typed, deserialized records that print with the module views' {
        $results = Invoke-Command @Remote -ScriptBlock {
            param($m)
            Import-Module $m
            Get-KernelInfo
            Invoke-KernelHealthCheck -Area Locking, Crash -ProgressAction SilentlyContinue
        } -ArgumentList $env:KERNELDEBUG_MODULE
        $info = $results | Where-Object { $_.PSObject.TypeNames -contains 'Deserialized.KernelDebug.Core.Inventory.KernelInfo' }
        $info | Should -HaveCount 1
        $info.Release | Should -Be (uname -r)
        $info.PSComputerName | Should -Be '127.0.0.1'
        ($info | Out-String) | Should -Match "Release\s+:\s+$([regex]::Escape((uname -r)))"
        $findings = $results | Where-Object { $_.PSObject.TypeNames -contains 'Deserialized.KernelDebug.Core.Health.KernelHealthFinding' }
        $findings.Count | Should -BeGreaterThan 1
        ($findings | Format-Table | Out-String) | Should -Match 'Severity\s+CheckId\s+Area\s+Message'
        $findings.CheckId | Should -Contain 'KD1101'
    }
}

Describe 'Package' {
    BeforeAll {
        $script:PkgDir = Join-Path ([IO.Path]::GetTempPath()) "kd-pkg-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
        $script:InstallDir = Join-Path $PkgDir 'modules'
        New-Item -ItemType Directory -Force $InstallDir | Out-Null
        $repoRoot = (Resolve-Path "$PSScriptRoot/../..").Path
        & dotnet $Pwsh -NoProfile -NonInteractive -File "$repoRoot/tools/New-ModulePackage.ps1" -ModulePath $ModuleDir -OutDirectory $PkgDir | Out-Null
    }
    AfterAll { Remove-Item -Recurse -Force $PkgDir -ErrorAction SilentlyContinue }

    It 'is a .nupkg with the manifest metadata' {
        $pkg = Get-ChildItem $PkgDir -Filter 'KernelDebug.*.nupkg'
        $pkg | Should -HaveCount 1
        Add-Type -AssemblyName System.IO.Compression.FileSystem
        $zip = [IO.Compression.ZipFile]::OpenRead($pkg.FullName)
        try {
            $names = $zip.Entries.FullName
            $names | Should -Contain 'KernelDebug.psd1'
            $names | Should -Contain 'KernelDebug.PowerShell.dll'
            $names | Should -Contain 'en-US/KernelDebug.PowerShell.dll-Help.xml'
            $nuspec = $zip.Entries | Where-Object FullName -like '*.nuspec'
            $text = [IO.StreamReader]::new($nuspec.Open()).ReadToEnd()
            $text | Should -Match '<version>0\.1\.0</version>'
            $text | Should -Match '<tags>PSModule '
            $manifest = $zip.Entries | Where-Object FullName -eq 'KernelDebug.psd1'
            $psd1 = [IO.StreamReader]::new($manifest.Open()).ReadToEnd()
            $psd1 | Should -Match "CompatiblePSEditions\s*=\s*@\('Core'\)"
            $psd1 | Should -Match "PowerShellVersion\s*=\s*'7\.6'"
        }
        finally { $zip.Dispose() }
    }

    It 'installs by name from a local repository and imports by name in a fresh pwsh' {
        $name = "kd-test-$PID"
        Register-PSResourceRepository -Name $name -Uri $PkgDir -Trusted
        try { Save-PSResource -Name KernelDebug -Repository $name -Path $InstallDir -TrustRepository -Quiet }
        finally { Unregister-PSResourceRepository -Name $name }
        Join-Path $InstallDir 'KernelDebug' | Should -Exist
        $env:KD_INSTALL = $InstallDir
        $out = & dotnet $Pwsh -NoProfile -NonInteractive -Command '$env:PSModulePath = $env:KD_INSTALL; Import-Module KernelDebug; (Get-Module KernelDebug).ModuleBase; (Get-KernelInfo).Release'
        $LASTEXITCODE | Should -Be 0
        $out[0] | Should -BeLike "$InstallDir*"
        $out[1] | Should -Be (uname -r)
    }
}
