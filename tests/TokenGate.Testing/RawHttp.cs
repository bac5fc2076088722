using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace TokenGate.Testing;

/// <summary>One HTTP/1.x response as it came off a raw connection: status, headers in order, body (de-chunked).</summary>
public sealed record RawResponse(int Status, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body)
{
    public string? Header(string name) =>
        Headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault();

    /// <summary>The server said it closes the connection after this response.</summary>
    public bool Closes => Header("Connection")?.Contains("close", StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>The media type of <c>Content-Type</c>, lower case, without parameters; null without the header.</summary>
    public string? MediaType => Header("Content-Type")?.Split(';')[0].Trim().ToLowerInvariant();

    public string BodyText => Encoding.UTF8.GetString(Body);

    public override string ToString() => $"HTTP {Status}{(Body.Length == 0 ? " (no body)" : " " + RawHttp.Escape(Body, 200))}";
}

/// <summary>How an exchange on a raw connection ended.</summary>
public enum RawEnding
{
    /// <summary>Every response asked for was read.</summary>
    Answered,

    /// <summary>The server closed the connection (FIN) before every response asked for was read.</summary>
    Closed,

    /// <summary>The connection was reset (RST), while sending or reading.</summary>
    Reset,

    /// <summary>No complete answer (and no close) within the bound: the server hangs.</summary>
    TimedOut,

    /// <summary>The server answered with bytes that are not HTTP/1.x (an HTTP/2 frame, to an HTTP/2 preface).</summary>
    NotHttp1,

    /// <summary>The client hung up on purpose after sending (cut-short requests); nothing was read.</summary>
    HungUp,
}

/// <summary>What one raw connection got back, and how long the whole exchange took.</summary>
public sealed record RawExchange(IReadOnlyList<RawResponse> Responses, RawEnding Ending, TimeSpan Took, string? Detail)
{
    public override string ToString() =>
        $"{Ending} after {Took.TotalMilliseconds:F0} ms{(Detail is null ? string.Empty : $" ({Detail})")}: "
        + (Responses.Count == 0 ? "no response" : string.Join("; ", Responses));
}

/// <summary>How the client ends a raw connection once its bytes are sent.</summary>
public enum RawHangUp
{
    /// <summary>Reads the responses asked for, then closes.</summary>
    AfterAnswer,

    /// <summary>Closes gracefully (FIN) right after sending, without reading.</summary>
    Fin,

    /// <summary>Aborts (RST, linger 0) right after sending, without reading.</summary>
    Reset,
}

/// <summary>
/// HTTP/1.1 over a plain socket, so that a test can send bytes no HTTP client would (bad framing, bad encodings, floods) and see
/// exactly what comes back: interim 1xx responses are skipped, bodies are read by <c>Content-Length</c>, chunked or until close.
/// </summary>
public static class RawHttp
{
    /// <summary>A response larger than this is not a token.php answer: reading stops and the exchange says so.</summary>
    private const int MaxResponseBytes = 1024 * 1024;

    /// <summary>
    /// Connects from <paramref name="source"/> (any 127.0.0.0/8 address on Linux), sends <paramref name="pieces"/> one write each,
    /// and reads up to <paramref name="responses"/> final responses, all within <paramref name="bound"/>.
    /// </summary>
    public static async Task<RawExchange> ExchangeAsync(
        IPEndPoint server, IPAddress source, IReadOnlyList<byte[]> pieces, int responses, bool firstIsHead, RawHangUp hangUp, TimeSpan bound, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(bound);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        string? detail = null;
        try
        {
            socket.Bind(new IPEndPoint(source, 0));
            await socket.ConnectAsync(server, timeout.Token);
            foreach (var piece in pieces)
            {
                await socket.SendAsync(piece, SocketFlags.None, timeout.Token);
            }
        }
        catch (SocketException exception)
        {
            // The server may refuse a request before it has all of it (a 431 or 414 while a flood is still being sent) and close:
            // what it answered can still be read.
            detail = $"send: {exception.SocketErrorCode}";
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new RawExchange([], RawEnding.TimedOut, clock.Elapsed, "connecting or sending");
        }

        if (hangUp != RawHangUp.AfterAnswer)
        {
            if (hangUp == RawHangUp.Reset)
            {
                socket.LingerState = new LingerOption(true, 0);
            }

            socket.Close();
            return new RawExchange([], RawEnding.HungUp, clock.Elapsed, detail);
        }

        var reader = new ResponseReader(socket);
        var answers = new List<RawResponse>();
        try
        {
            while (answers.Count < responses)
            {
                var response = await reader.ReadAsync(head: firstIsHead && answers.Count == 0, timeout.Token);
                if (response is null)
                {
                    return new RawExchange(answers, reader.NotHttp1 ? RawEnding.NotHttp1 : RawEnding.Closed, clock.Elapsed, Join(detail, reader.Leftover));
                }

                if (response.Status is >= 100 and < 200)
                {
                    continue;
                }

                answers.Add(response);
            }

            return new RawExchange(answers, RawEnding.Answered, clock.Elapsed, detail);
        }
        catch (SocketException exception)
        {
            return new RawExchange(answers, RawEnding.Reset, clock.Elapsed, Join(detail, $"receive: {exception.SocketErrorCode}"));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new RawExchange(answers, RawEnding.TimedOut, clock.Elapsed, Join(detail, reader.Leftover));
        }
        catch (InvalidDataException exception)
        {
            return new RawExchange(answers, RawEnding.Closed, clock.Elapsed, Join(detail, "unreadable response: " + exception.Message));
        }
    }

    /// <summary>Bytes as text for a failure message: printable ASCII as is, the rest as \xNN, long runs cut in the middle.</summary>
    public static string Escape(ReadOnlySpan<byte> bytes, int max = 400)
    {
        var text = new StringBuilder();
        var head = bytes.Length <= max ? bytes : bytes[..(max * 3 / 4)];
        Append(text, head);
        if (bytes.Length > max)
        {
            text.Append(CultureInfo.InvariantCulture, $"…[{bytes.Length - max:N0} bytes]…");
            Append(text, bytes[^(max / 4)..]);
        }

        return text.ToString();

        static void Append(StringBuilder text, ReadOnlySpan<byte> bytes)
        {
            foreach (var b in bytes)
            {
                _ = b switch
                {
                    (byte)'\r' => text.Append("\\r"),
                    (byte)'\n' => text.Append("\\n"),
                    (byte)'\\' => text.Append("\\\\"),
                    >= 0x20 and < 0x7f => text.Append((char)b),
                    _ => text.Append(CultureInfo.InvariantCulture, $"\\x{b:x2}"),
                };
            }
        }
    }

    /// <summary>
    /// The responses in bytes received up to the close of a connection, and a description of any bytes that do not make one
    /// (an incomplete response, or bytes that are not HTTP/1.x).
    /// </summary>
    public static async Task<(IReadOnlyList<RawResponse> Responses, string? Remainder)> ParseAsync(byte[] received)
    {
        var reader = new ResponseReader(received);
        var responses = new List<RawResponse>();
        try
        {
            while (await reader.ReadAsync(head: false, CancellationToken.None) is { } response)
            {
                if (response.Status >= 200)
                {
                    responses.Add(response);
                }
            }
        }
        catch (InvalidDataException exception)
        {
            return (responses, "unreadable response: " + exception.Message);
        }

        return (responses, reader.NotHttp1 ? "bytes that are not HTTP/1.x" : reader.Leftover);
    }

    private static string? Join(string? first, string? second) => first is null ? second : second is null ? first : $"{first}; {second}";

    /// <summary>Reads responses one after another from a socket's byte stream.</summary>
    private sealed class ResponseReader
    {
        private readonly Socket? _socket;
        private byte[] _buffer;
        private int _start;
        private int _end;
        private bool _closed;

        public ResponseReader(Socket socket)
        {
            _socket = socket;
            _buffer = new byte[16 * 1024];
        }

        /// <summary>A reader of bytes already received in full (the connection is closed).</summary>
        public ResponseReader(byte[] received)
        {
            _buffer = received;
            _end = received.Length;
            _closed = true;
        }

        public bool NotHttp1 { get; private set; }

        /// <summary>What was left unread when the server closed, for the failure message.</summary>
        public string? Leftover => _end > _start ? $"{_end - _start} bytes of an incomplete response: {Escape(_buffer.AsSpan(_start, _end - _start), 120)}" : null;

        /// <summary>The next response, or null when the connection closed first (or the bytes are not HTTP/1.x).</summary>
        public async Task<RawResponse?> ReadAsync(bool head, CancellationToken cancellationToken)
        {
            while (true)
            {
                if (_end - _start >= 5 && !_buffer.AsSpan(_start, 5).SequenceEqual("HTTP/"u8))
                {
                    NotHttp1 = true;
                    return null;
                }

                var headerEnd = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8);
                if (headerEnd >= 0)
                {
                    return await ReadBodyAsync(_start + headerEnd + 4, Encoding.Latin1.GetString(_buffer, _start, headerEnd), head, cancellationToken);
                }

                if (_closed || !await FillAsync(cancellationToken))
                {
                    return null;
                }
            }
        }

        private async Task<RawResponse?> ReadBodyAsync(int bodyStart, string head, bool isHead, CancellationToken cancellationToken)
        {
            var lines = head.Split("\r\n");
            var statusLine = lines[0].Split(' ', 3);
            if (statusLine.Length < 2 || !int.TryParse(statusLine[1], NumberStyles.None, CultureInfo.InvariantCulture, out var status))
            {
                throw new InvalidDataException($"status line {lines[0]}");
            }

            var headers = new List<KeyValuePair<string, string>>();
            foreach (var line in lines.Skip(1))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon <= 0)
                {
                    throw new InvalidDataException($"header line {line}");
                }

                headers.Add(new(line[..colon].Trim(), line[(colon + 1)..].Trim()));
            }

            var response = new RawResponse(status, headers, []);
            if (isHead || status is >= 100 and < 200 or 204 or 304)
            {
                _start = bodyStart;
                return response;
            }

            if (response.Header("Transfer-Encoding")?.Contains("chunked", StringComparison.OrdinalIgnoreCase) == true)
            {
                return await ReadChunkedAsync(response, bodyStart, cancellationToken);
            }

            if (response.Header("Content-Length") is { } lengthText)
            {
                if (!int.TryParse(lengthText, NumberStyles.None, CultureInfo.InvariantCulture, out var length) || length > MaxResponseBytes)
                {
                    throw new InvalidDataException($"Content-Length {lengthText}");
                }

                while (_end - bodyStart < length)
                {
                    if (_closed || !await FillAsync(cancellationToken))
                    {
                        return null;
                    }
                }

                _start = bodyStart + length;
                return response with { Body = _buffer[bodyStart.._start] };
            }

            // Neither: the body runs to the end of the connection.
            while (!_closed && await FillAsync(cancellationToken))
            {
            }

            _start = _end;
            return response with { Body = _buffer[bodyStart.._end] };
        }

        private async Task<RawResponse?> ReadChunkedAsync(RawResponse response, int position, CancellationToken cancellationToken)
        {
            var body = new List<byte>();
            while (true)
            {
                int lineEnd;
                while ((lineEnd = _buffer.AsSpan(position, _end - position).IndexOf("\r\n"u8)) < 0)
                {
                    if (_closed || !await FillAsync(cancellationToken))
                    {
                        return null;
                    }
                }

                var sizeText = Encoding.Latin1.GetString(_buffer, position, lineEnd).Split(';')[0].Trim();
                if (!int.TryParse(sizeText, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var size) || size < 0 || size > MaxResponseBytes)
                {
                    throw new InvalidDataException($"chunk size {sizeText}");
                }

                position += lineEnd + 2;
                while (_end - position < size + 2)
                {
                    if (_closed || !await FillAsync(cancellationToken))
                    {
                        return null;
                    }
                }

                if (size == 0)
                {
                    // No trailers from Kestrel for these responses: the last chunk is followed by the empty line.
                    _start = position + 2;
                    return response with { Body = [.. body] };
                }

                body.AddRange(_buffer.AsSpan(position, size).ToArray());
                position += size + 2;
            }
        }

        /// <summary>Reads more bytes; false once the server has closed the connection.</summary>
        private async Task<bool> FillAsync(CancellationToken cancellationToken)
        {
            if (_end == _buffer.Length)
            {
                if (_buffer.Length >= MaxResponseBytes)
                {
                    throw new InvalidDataException($"more than {MaxResponseBytes} bytes of responses");
                }

                Array.Resize(ref _buffer, _buffer.Length * 2);
            }

            var read = await _socket!.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancellationToken);
            if (read == 0)
            {
                _closed = true;
                return false;
            }

            _end += read;
            return true;
        }
    }
}
