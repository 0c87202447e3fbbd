BeforeAll {
    Import-Module $env:KERNELDEBUG_MODULE -Force
}

Describe 'Get-KernelSymbol' {
    It 'finds a symbol by wildcard and resolves its address back' {
        $s = Get-KernelSymbol -Name 'schedul?' -FunctionOnly | Where-Object Name -eq 'schedule' | Select-Object -First 1
        $s | Should -Not -BeNullOrEmpty
        $loc = [pscustomobject]@{ Address = $s.Address + 1 } | Get-KernelSymbol
        $loc.Offset | Should -Be 1
        ($loc | Format-Table | Out-String) | Should -Match '\+0x1/0x'
    }
    It 'reports an unknown name as a non-terminating error' {
        Get-KernelSymbol -Name 'no_such_symbol_kd' -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'KernelSymbolNotFound*'
    }
}

Describe 'Flame graphs' {
    BeforeAll {
        $script:Dir = Join-Path ([IO.Path]::GetTempPath()) "kd-flame-$([guid]::NewGuid().ToString('N'))"
        New-Item -ItemType Directory $Dir | Out-Null
    }
    AfterAll { Remove-Item -Recurse -Force $Dir -ErrorAction SilentlyContinue }

    It 'folds records with Frames and Count, merging identical stacks' {
        $folded = @(
            [pscustomobject]@{ Frames = 'hot', 'work', 'main'; Count = 3; Command = 'app' }
            [pscustomobject]@{ Frames = 'hot', 'work', 'main'; Count = 2; Command = 'app' }
            [pscustomobject]@{ Frames = 'idle', 'main'; Count = 1; Command = 'app' }
        ) | ConvertTo-FoldedStack -IncludeCommand
        $folded | ForEach-Object ToString | Should -Be @('app;main;idle 1', 'app;main;work;hot 5')
    }

    It 'renders an SVG with frames that Chromium draws, its script running' {
        $svg = 'main;work;hot 75', 'main;idle 25', 'main;work;cold 10' | Export-FlameGraph -Path (Join-Path $Dir 'f.svg') -Title 'test graph'
        $svg | Should -Exist
        $profile = Join-Path $Dir 'chromium'
        $dom = chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking `
            --disable-component-update --disable-sync --disable-dev-shm-usage "--user-data-dir=$profile" --dump-dom "file://$($svg.FullName)" 2>$null | Out-String
        ([regex]::Matches($dom, 'class="frame"')).Count | Should -Be 6
        $dom | Should -Match 'data-ready="true"'
        $png = Join-Path $Dir 'f.png'
        chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking `
            --disable-component-update --disable-sync --disable-dev-shm-usage "--user-data-dir=$profile" "--screenshot=$png" --window-size=1200,300 "file://$($svg.FullName)" 2>$null | Out-Null
        (Get-Item $png).Length | Should -BeGreaterThan 5000
    }
}
