namespace KernelDebug.Core.Kmsg;

/// <summary>
/// Reads lines from a <see cref="TextReader"/> as spans over one reusable buffer, so a log line costs no string
/// until a parser decides to keep part of it. <c>\n</c> and <c>\r\n</c> end a line.
/// </summary>
internal sealed class LineReader
{
    /// <summary>Longer lines are handed out in pieces of this size (a log line never gets near it).</summary>
    public const int MaxLineLength = 1 << 20;

    private readonly TextReader _reader;
    private char[] _buf = new char[1 << 16];
    private int _start, _end, _lineStart, _lineLength;
    private bool _eof;

    public LineReader(TextReader reader) => _reader = reader;

    /// <summary>1-based number of the current line.</summary>
    public int LineNumber { get; private set; }

    /// <summary>The current line, valid until the next call to <see cref="Next"/>.</summary>
    public ReadOnlySpan<char> Line => _buf.AsSpan(_lineStart, _lineLength);

    /// <summary>Moves to the next line; false at the end of the input.</summary>
    public bool Next()
    {
        while (true)
        {
            int nl = _buf.AsSpan(_start, _end - _start).IndexOf('\n');
            if (nl >= 0)
            {
                Take(nl, nl + 1);
                return true;
            }
            if (_eof)
            {
                if (_end == _start) return false;
                Take(_end - _start, _end - _start);
                return true;
            }
            if (_start > 0)
            {
                Array.Copy(_buf, _start, _buf, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            if (_end == _buf.Length)
            {
                if (_buf.Length >= MaxLineLength)
                {
                    Take(_end, _end);
                    return true;
                }
                Array.Resize(ref _buf, _buf.Length * 2);
            }
            int n = _reader.Read(_buf, _end, _buf.Length - _end);
            if (n <= 0) _eof = true;
            else _end += n;
        }
    }

    private void Take(int length, int consumed)
    {
        _lineStart = _start;
        _lineLength = length > 0 && _buf[_start + length - 1] == '\r' ? length - 1 : length;
        _start += consumed;
        LineNumber++;
    }
}
