# Shared by every bench/*.Bench.ps1 (dot-source it: . "$PSScriptRoot/BenchSupport.ps1").
#
# One run of a benchmark on this shared 2-CPU machine proves nothing, so every A/B figure comes from
# Invoke-BenchLoop: each repetition runs every variant once, in the order given (untraced, ours, the peer, ...),
# so a busy neighbour slows them alike. Format-BenchTable prints each variant's median with its spread (min-max)
# and, against a baseline variant, the difference of the medians; a row whose spread (or the baseline's) is
# larger than that difference says "within noise".
#
#   $r = Invoke-BenchLoop -Repetitions 5 -Variant ([ordered]@{
#       'untraced'      = { & $loop 1000000 }                       # return a number (ns/op, seconds, events/s...)
#       'Measure-Thing' = { Start-Ours; $ns = & $loop 1000000; Stop-Ours; @{ Value = $ns; Note = 'counted 5' } }
#   })
#   Format-BenchTable $r -Baseline 'untraced' -Unit 'ns/call' -Title 'getppid under each tracer'
#
# A variant returns a number, or a hashtable/object with Value plus any other keys (kept per repetition in
# Details, e.g. counts or attach times). A variant that throws fails the benchmark (build.ps1 Bench then fails).

Set-StrictMode -Version 3.0

function Get-BenchStat {
    <# Median, min, max, quartiles of a list of numbers. #>
    param([Parameter(Mandatory)] [double[]] $Values)
    $s = [double[]]@($Values | Sort-Object)
    $q = {
        param([double] $p)
        $pos = $p * ($s.Count - 1); $lo = [math]::Floor($pos); $hi = [math]::Ceiling($pos)
        $s[$lo] + ($s[$hi] - $s[$lo]) * ($pos - $lo)
    }
    [pscustomobject]@{ Count = $s.Count; Median = & $q 0.5; Min = $s[0]; Max = $s[-1]; Q1 = & $q 0.25; Q3 = & $q 0.75 }
}

function Invoke-BenchLoop {
    <# Runs each variant once per repetition, interleaved; returns name -> samples/details/stats.
       (Locals are prefixed: the variants' scriptblocks run in this scope and must see the caller's variables.) #>
    param(
        [Parameter(Mandatory)] [System.Collections.IDictionary] $Variant,
        [ValidateRange(5, 1000)] [int] $Repetitions = 5,
        # Runs each variant once before the loop, results discarded (JIT, page cache, first attach).
        [switch] $WarmUp
    )
    $benchNames = @($Variant.Keys)
    if ($WarmUp) { foreach ($benchName in $benchNames) { $null = & $Variant[$benchName] } }
    $benchSamples = @{}; $benchDetails = @{}
    foreach ($benchName in $benchNames) { $benchSamples[$benchName] = [Collections.Generic.List[double]]::new(); $benchDetails[$benchName] = [Collections.Generic.List[object]]::new() }
    for ($benchRep = 1; $benchRep -le $Repetitions; $benchRep++) {
        foreach ($benchName in $benchNames) {
            $benchOut = @(& $Variant[$benchName])
            if ($benchOut.Count -eq 0) { throw "bench variant '$benchName' returned nothing (repetition $benchRep)" }
            $benchLast = $benchOut[-1]
            $benchValue = if ($benchLast -is [System.Collections.IDictionary]) { $benchLast['Value'] }
            elseif ($benchLast -is [psobject] -and $benchLast.PSObject.Properties['Value']) { $benchLast.Value }
            else { $benchLast }
            if ($null -eq $benchValue) { throw "bench variant '$benchName' returned no Value (repetition $benchRep)" }
            $benchSamples[$benchName].Add([double]$benchValue); $benchDetails[$benchName].Add($benchLast)
        }
    }
    $benchResult = [ordered]@{}
    foreach ($benchName in $benchNames) {
        $benchResult[$benchName] = [pscustomobject]@{ Name = $benchName; Samples = $benchSamples[$benchName].ToArray(); Details = $benchDetails[$benchName].ToArray(); Stat = Get-BenchStat $benchSamples[$benchName].ToArray() }
    }
    $benchResult
}

function Get-BenchDetail {
    <# The median of a numeric detail key across repetitions (e.g. 'Count', 'AttachMs'), or $null. #>
    param([Parameter(Mandatory)] $Result, [Parameter(Mandatory)] [string] $Key)
    $v = @(foreach ($d in $Result.Details) {
            if ($d -is [System.Collections.IDictionary]) { if ($d.Contains($Key)) { $d[$Key] } }
            elseif ($d -is [psobject] -and $d.PSObject.Properties[$Key]) { $d.$Key }
        }) | Where-Object { $null -ne $_ }
    if (-not $v) { return $null }
    (Get-BenchStat ([double[]]$v)).Median
}

function Format-BenchTable {
    <#
    Prints (and returns as text) one row per variant: median, spread (min-max) and, against -Baseline, the
    difference of medians with "within noise" where the row's or the baseline's spread exceeds it.
    -Note adds a column: a hashtable name -> text, or a scriptblock getting the variant's result.
    #>
    param(
        [Parameter(Mandatory, Position = 0)] [System.Collections.IDictionary] $Result,
        [string] $Baseline,
        [string] $Unit = '',
        [string] $Format = 'N0',
        [string] $Title,
        $Note
    )
    $f = "{0:$Format}"
    $base = if ($Baseline) { $Result[$Baseline].Stat } else { $null }
    $rows = foreach ($n in $Result.Keys) {
        $s = $Result[$n].Stat
        $row = [ordered]@{
            Variant  = $n
            ("median $Unit".Trim()) = $f -f $s.Median
            'spread (min-max)' = ($f -f $s.Min) + ' - ' + ($f -f $s.Max)
        }
        if ($base) {
            if ($n -eq $Baseline) { $row["vs $Baseline"] = '' }
            else {
                $diff = $s.Median - $base.Median
                $noise = [math]::Max($s.Max - $s.Min, $base.Max - $base.Min)
                $row["vs $Baseline"] = ('{0}' -f $(if ($diff -ge 0) { '+' } else { '' })) + ($f -f $diff) + $(if ([math]::Abs($diff) -lt $noise) { ' (within noise)' } else { '' })
            }
        }
        if ($Note) {
            $row['Note'] = if ($Note -is [scriptblock]) { & $Note $Result[$n] } elseif ($Note.Contains($n)) { $Note[$n] } else { '' }
        }
        [pscustomobject]$row
    }
    $reps = ($Result.Values | Select-Object -First 1).Stat.Count
    $text = @(
        if ($Title) { "$Title (median of $reps interleaved repetitions)" }
        ($rows | Format-Table -AutoSize | Out-String -Width 240).TrimEnd()
        ''
    ) -join [Environment]::NewLine
    $text
}

function Test-BenchNoise {
    <# True when the difference of medians between two variants is smaller than either's spread. #>
    param([Parameter(Mandatory)] $A, [Parameter(Mandatory)] $B)
    [math]::Abs($A.Stat.Median - $B.Stat.Median) -lt [math]::Max($A.Stat.Max - $A.Stat.Min, $B.Stat.Max - $B.Stat.Min)
}

function Measure-MaxRss {
    <#
    Runs a process under /usr/bin/time -v: its maximum resident set size (bytes), wall seconds and CPU seconds.
    Standard output goes to -StdOut (default /dev/null). Fails when the process fails.
    #>
    param([Parameter(Mandatory)] [string] $File, [string[]] $Arguments = @(), [string] $StdOut = '/dev/null')
    if (-not (Test-Path /usr/bin/time)) { throw '/usr/bin/time is missing (apt package time)' }
    $log = [IO.Path]::GetTempFileName()
    try {
        $err = "$log.err"
        & /usr/bin/time -v -o $log $File @Arguments > $StdOut 2> $err
        if ($LASTEXITCODE -ne 0) { throw "$File $($Arguments -join ' ') exited with ${LASTEXITCODE}: $(Get-Content $err -Raw)" }
        $t = Get-Content $log -Raw
        $kb = if ($t -match 'Maximum resident set size \(kbytes\): (\d+)') { [long]$Matches[1] } else { throw "no maximum RSS in /usr/bin/time output: $t" }
        $wall = if ($t -match 'Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)') {
            [double]$(if ($Matches[1]) { $Matches[1] } else { 0 }) * 3600 + [double]$Matches[2] * 60 + [double]::Parse($Matches[3], [cultureinfo]::InvariantCulture)
        }
        $u = if ($t -match 'User time \(seconds\): ([\d.]+)') { [double]::Parse($Matches[1], [cultureinfo]::InvariantCulture) } else { 0 }
        $k = if ($t -match 'System time \(seconds\): ([\d.]+)') { [double]::Parse($Matches[1], [cultureinfo]::InvariantCulture) } else { 0 }
        [pscustomobject]@{ MaxRssBytes = $kb * 1024; Seconds = $wall; CpuSeconds = $u + $k }
    }
    finally { Remove-Item $log, "$log.err" -ErrorAction SilentlyContinue }
}

function Get-PwshCommand {
    <# The pwsh this bench runs in, as file + leading arguments, for child processes (under /usr/bin/time too). #>
    $dll = Join-Path $PSHOME 'pwsh.dll'
    if (Test-Path $dll) { @{ File = (Get-Command dotnet).Source; Arguments = @($dll, '-NoProfile', '-NonInteractive') } }
    else { @{ File = (Join-Path $PSHOME 'pwsh'); Arguments = @('-NoProfile', '-NonInteractive') } }
}

function Get-BenchTool {
    <# The path of a peer tool; a missing peer fails the bench (build.ps1 Bootstrap installs them). #>
    param([Parameter(Mandatory)] [string] $Name, [string] $Package)
    $c = Get-Command $Name -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if (-not $c) { throw "peer tool '$Name' is not installed$(if ($Package) { " (apt package $Package; build.ps1 Bootstrap installs it)" })" }
    $c.Source
}

function Start-BenchTool {
    <# Starts a peer tool under stdbuf -oL and waits for its ready line; returns Process and AttachMs. #>
    param([Parameter(Mandatory)] [string] $File, [string[]] $Arguments = @(), [Parameter(Mandatory)] [string] $ReadyPattern)
    $psi = [Diagnostics.ProcessStartInfo]::new('stdbuf')
    $psi.ArgumentList.Add('-oL'); $psi.ArgumentList.Add($File)
    foreach ($a in $Arguments) { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true; $psi.UseShellExecute = $false
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $p = [Diagnostics.Process]::Start($psi)
    $err = $p.StandardError.ReadToEndAsync()
    while ($null -ne ($line = $p.StandardOutput.ReadLine())) { if ($line -match $ReadyPattern) { break } }
    $ms = $sw.Elapsed.TotalMilliseconds
    if ($p.HasExited -or $null -eq $line) { $p.WaitForExit(5000) | Out-Null; throw "$File exited before '$ReadyPattern': $($err.Result)" }
    [pscustomobject]@{ Process = $p; AttachMs = $ms }
}

function Stop-BenchTool {
    <# SIGINT, as a user's Ctrl+C; returns the rest of its standard output. #>
    param([Parameter(Mandatory)] $Tool)
    & kill -INT $Tool.Process.Id
    $rest = $Tool.Process.StandardOutput.ReadToEndAsync()
    if (-not $Tool.Process.WaitForExit(30000)) { $Tool.Process.Kill() }
    $rest.Result
}

function Start-BenchCmdlet {
    <#
    Starts a measuring cmdlet (e.g. 'Measure-SyscallLatency -Interval 0:0:1') in a runspace that has the module, with
    -Verbose, and waits for its "Attached with <method> <ms> ms" line. Returns PowerShell, Output, AttachMethod and
    AttachMs; end it with Stop-BenchCmdlet. Fails when the cmdlet fails or does not attach within 30 s.
    #>
    param([Parameter(Mandatory)] [runspace] $Runspace, [Parameter(Mandatory)] [string] $Script)
    $ps = [powershell]::Create($Runspace).AddScript("$Script -Verbose")
    $out = [System.Management.Automation.PSDataCollection[psobject]]::new()
    $null = $ps.BeginInvoke([System.Management.Automation.PSDataCollection[psobject]]$null, $out)
    $deadline = [DateTime]::UtcNow.AddSeconds(30)
    while (-not ($attached = $ps.Streams.Verbose | Where-Object Message -like 'Attached*' | Select-Object -First 1)) {
        if ($ps.InvocationStateInfo.State -in 'Failed', 'Completed', 'Stopped' -or [DateTime]::UtcNow -gt $deadline) {
            throw "$Script did not attach: $($ps.InvocationStateInfo.Reason) $($ps.Streams.Error)"
        }
        Start-Sleep -Milliseconds 5
    }
    $m = [regex]::Match($attached.Message, 'Attached with (\S+) ([\d.]+) ms')
    [pscustomobject]@{ PowerShell = $ps; Output = $out; Script = $Script; AttachMethod = $m.Groups[1].Value; AttachMs = [double]$m.Groups[2].Value }
}

function Stop-BenchCmdlet {
    <# Stops a cmdlet started by Start-BenchCmdlet (as Ctrl+C does); fails when it wrote an error. Returns its output. #>
    param([Parameter(Mandatory)] $Started)
    $Started.PowerShell.Stop()
    if ($Started.PowerShell.Streams.Error.Count) { throw "$($Started.Script): $($Started.PowerShell.Streams.Error[0])" }
    , $Started.Output
}

function Measure-PwshMaxRss {
    <# Maximum RSS of a fresh pwsh that imports the module and runs -Command (no command: the import alone, the base). #>
    param([Parameter(Mandatory)] [string] $ModulePath, [string] $Command = '')
    $pwsh = Get-PwshCommand
    $manifest = Join-Path $ModulePath 'KernelDebug.psd1'
    Measure-MaxRss $pwsh.File ($pwsh.Arguments + @('-Command', "Import-Module '$manifest'; $Command"))
}

function Format-MaxRssTable {
    <# One row per process of an ordered name -> Measure-MaxRss result. #>
    param([Parameter(Mandatory)] [System.Collections.IDictionary] $Rss, [string] $Title = 'Peak memory (maximum RSS, /usr/bin/time -v, one process each)')
    @(
        "${Title}:"
        ($Rss.Keys | ForEach-Object { [pscustomobject]@{ Process = $_; 'max RSS MB' = '{0:N0}' -f ($Rss[$_].MaxRssBytes / 1MB) } } | Format-Table -AutoSize | Out-String -Width 200).TrimEnd()
        ''
    ) -join [Environment]::NewLine
}

function Get-BenchLoad { "load average $(((Get-Content /proc/loadavg -ErrorAction SilentlyContinue) -split ' ')[0..2] -join ' ') on $([Environment]::ProcessorCount) CPUs" }
