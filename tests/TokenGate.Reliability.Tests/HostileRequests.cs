using System.Globalization;
using System.Net;
using System.Text;
using TokenGate.Server.Api;
using TokenGate.Testing;

namespace TokenGate.Reliability.Tests;

/// <summary>What the hostile generator may use in its valid requests, and where the server listens.</summary>
public sealed record HostileTarget(string Username, string Password, string KnownToken, IPAddress KnownTokenAddress, int Port)
{
    public string Host => $"127.0.0.1:{Port}";
}

/// <summary>
/// One generated request: its bytes (sent in one write per piece) and how its answer is to be judged beyond the rules every
/// answer obeys (see HostileInputTests.Judge).
/// </summary>
public sealed record HostileRequest(IReadOnlyList<byte[]> Pieces)
{
    public int Index { get; init; }

    public string Kind { get; init; } = string.Empty;

    /// <summary>The client address (127.0.0.0/8) the connection comes from; <see cref="IPAddress.None"/> until the generator picks one.</summary>
    public IPAddress Source { get; init; } = IPAddress.None;

    /// <summary>How many responses the bytes ask for (more than one when requests are pipelined or bytes are left over).</summary>
    public int Responses { get; init; } = 1;

    /// <summary>The first request is a HEAD: its response has no body.</summary>
    public bool Head { get; init; }

    /// <summary>json or xml: the format an answer from TokenGate must be in (asked for once in the query); null when not decidable.</summary>
    public string? Format { get; init; }

    /// <summary>
    /// The server may close without answering: the request is larger than the socket buffers, so the server can refuse it and close
    /// while it is still being sent, and the reset that a close with unread data causes can discard the answer before it is read.
    /// </summary>
    public bool MayGoUnanswered { get; init; }

    public RawHangUp HangUp { get; init; }

    /// <summary>The request goes to token.php (or an unknown path), whose every answer is a contract body; false for the other endpoints.</summary>
    public bool ContractBodies { get; init; } = true;

    /// <summary>
    /// What this kind's first answer must also satisfy (a valid request served, a spoof not believed). Requests with such a check
    /// are well-formed HTTP: their first answer must come from TokenGate, not be a refusal by Kestrel.
    /// </summary>
    public Func<RawResponse, ContractBody, string?>? Expect { get; init; }

    public int Length => Pieces.Sum(p => p.Length);

    public byte[] Bytes() => [.. Pieces.SelectMany(p => p)];
}

/// <summary>
/// The seeded generator of malformed and adversarial requests. Request <c>i</c> of seed <c>s</c> is always the same bytes from the
/// same source address, whatever the concurrency, so a failure names a request that can be made again.
/// </summary>
public static class HostileRequests
{
    private const string Form = "Content-Type: application/x-www-form-urlencoded";

    /// <summary>Every kind and how often it is drawn, relative to the others.</summary>
    private static readonly (string Kind, int Weight, Func<Random, HostileTarget, HostileRequest> Build)[] Kinds =
    [
        ("valid get (form)", 3, ValidGetForm),
        ("valid get (query)", 1, ValidGetQuery),
        ("valid get (multipart)", 1, ValidGetMultipart),
        ("valid get (chunked)", 1, ValidGetChunked),
        ("valid validate", 2, ValidValidate),
        ("random bytes", 2, RandomBytes),
        ("random bytes after the request line", 1, RandomBytesAfterRequestLine),
        ("raw random bytes in the query", 2, RawRandomQuery),
        ("random values, percent-encoded", 2, RandomEncodedValues),
        ("huge value", 2, HugeValue),
        ("repeated parameters", 2, RepeatedParameters),
        ("many parameters", 1, ManyParameters),
        ("bad percent-encoding", 3, BadPercentEncoding),
        ("invalid UTF-8", 2, InvalidUtf8),
        ("odd path", 2, OddPath),
        ("wrong method", 3, WrongMethod),
        ("odd content type", 3, OddContentType),
        ("Content-Length shorter than the body", 1, ContentLengthShorter),
        ("bad Content-Length", 1, BadContentLength),
        ("cut short and hung up", 1, CutShort),
        ("bad chunking", 2, BadChunking),
        ("header flood", 2, HeaderFlood),
        ("malformed headers", 1, MalformedHeaders),
        ("bogus Host or absolute-form target", 2, BogusHost),
        ("HTTP version", 1, HttpVersion),
        ("format", 2, FormatVariants),
        ("wrong-shape token", 2, TokenShapes),
        ("null bytes", 1, NullBytes),
        ("address argument", 1, AddressArgument),
        ("pipelined", 2, Pipelined),
        ("Expect and Upgrade", 1, ExpectAndUpgrade),
        ("spoofed forwarding headers", 1, SpoofedForwarding),
        ("GET with a body", 1, GetWithBody),
        ("OAuth2 and other endpoints", 2, OtherEndpoints),
    ];

    private static readonly int TotalWeight = Kinds.Sum(k => k.Weight);

    private static readonly string[] Actions = ["get", "validate", "delete", "newpass", "VALIDATE", "Get", "x", "", "get ", "valid%61te"];

    private static readonly string[] BadEscapes =
    [
        "%", "%%", "%z", "%zz", "%g0", "%0", "%%41", "%u0041", "%c3%28", "%ff%fe", "%e2%82", "%ed%a0%80", "%f4%90%80%80", "%c0%af",
        "%fe%ff", "%80", "%00", "%2", "%+1", "%-1", "%c3", "%f0%9f%98", "%e0%80%80", "%f8%88%80%80%80",
    ];

    private static readonly string[] InvalidUtf8Sequences =
    [
        "\u00c3\u0028", "\u00ff\u00fe", "\u00e2\u0082", "\u00ed\u00a0\u0080", "\u00f4\u0090\u0080\u0080", "\u00c0\u00af", "\u0080", "\u00bf\u00bf", "\u00f0\u009f\u0098",
    ];

    public static IEnumerable<string> KindNames => Kinds.Select(k => k.Kind);

    /// <summary>Request <paramref name="index"/> of <paramref name="seed"/>.</summary>
    public static HostileRequest Create(int seed, int index, HostileTarget target)
    {
        var random = new Random(unchecked((seed * 1_000_003) ^ (index * 0x2545F491) ^ 0x5bd1e995));
        var draw = random.Next(TotalWeight);
        var (kind, build) = (Kinds[0].Kind, Kinds[0].Build);
        foreach (var candidate in Kinds)
        {
            if (draw < candidate.Weight)
            {
                (kind, build) = (candidate.Kind, candidate.Build);
                break;
            }

            draw -= candidate.Weight;
        }

        var request = build(random, target);
        var source = request.Source.Equals(IPAddress.None) ? RandomSource(random) : request.Source;

        // One request in eight goes out in several writes, so that the server's parser meets it split at random places.
        var pieces = request.Pieces;
        if (pieces.Count == 1 && pieces[0].Length > 2 && random.Next(8) == 0)
        {
            pieces = Split(pieces[0], random.Next(2, 5), random);
        }

        return request with { Index = index, Kind = kind, Source = source, Pieces = pieces };
    }

    /// <summary>An address of 127.1.0.0–127.254.255.255: the login throttle counts failures per client address, so spreading them
    /// keeps a stray failed login of the hostile traffic from slowing its other logins (the brute-force run tests the throttle).</summary>
    public static IPAddress RandomSource(Random random) =>
        new([127, (byte)random.Next(1, 255), (byte)random.Next(256), (byte)random.Next(1, 255)]);

    private static HostileRequest ValidGetForm(Random random, HostileTarget target)
    {
        var (format, expected) = FormatArgument(random, clean: true);
        var body = $"action=get&username={Escape(target.Username)}&password={Escape(target.Password)}{Address(random)}";
        return new HostileRequest([Http("POST", $"{TokenPath(random)}?{format.TrimEnd('&')}", target.Host, [Form], Bytes(body), Close(random))])
        {
            Format = expected,
            Expect = Served,
        };
    }

    private static HostileRequest ValidGetQuery(Random random, HostileTarget target)
    {
        var (format, expected) = FormatArgument(random, clean: true);
        var query = $"{format}action=get&username={Escape(target.Username)}&password={Escape(target.Password)}{Address(random)}";
        return new HostileRequest([Http("GET", $"{TokenPath(random)}?{query}", target.Host, close: Close(random))]) { Format = expected, Expect = Served };
    }

    private static HostileRequest ValidGetMultipart(Random random, HostileTarget target)
    {
        var (format, expected) = FormatArgument(random, clean: true);
        var boundary = "----tg" + random.Next().ToString("x", CultureInfo.InvariantCulture);
        var body = new StringBuilder();
        foreach (var (name, value) in new[] { ("action", "get"), ("username", target.Username), ("password", target.Password) })
        {
            body.Append(CultureInfo.InvariantCulture, $"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n");
        }

        body.Append(CultureInfo.InvariantCulture, $"--{boundary}--\r\n");
        return new HostileRequest([Http("POST", $"{TokenPath(random)}?{format.TrimEnd('&')}", target.Host, [$"Content-Type: multipart/form-data; boundary={boundary}"], Bytes(body.ToString()), Close(random))])
        {
            Format = expected,
            Expect = Served,
        };
    }

    private static HostileRequest ValidGetChunked(Random random, HostileTarget target)
    {
        var (format, expected) = FormatArgument(random, clean: true);
        var body = Bytes($"action=get&username={Escape(target.Username)}&password={Escape(target.Password)}");
        return new HostileRequest([Http("POST", $"{TokenPath(random)}?{format.TrimEnd('&')}", target.Host, [Form, "Transfer-Encoding: chunked"], Chunked(body, random), Close(random), contentLength: false)])
        {
            Format = expected,
            Expect = Served,
        };
    }

    private static HostileRequest ValidValidate(Random random, HostileTarget target)
    {
        var (format, expected) = FormatArgument(random, clean: true);
        return new HostileRequest([Http("GET", $"{TokenPath(random)}?{format}action=validate&token={target.KnownToken}", target.Host, close: Close(random))])
        {
            Source = target.KnownTokenAddress,
            Format = expected,
            Expect = (response, body) => response.Status == 200 && body.Success && body.Expire > 0 ? null : "the known token did not validate",
        };
    }

    private static HostileRequest RandomBytes(Random random, HostileTarget target)
    {
        var bytes = new byte[random.Next(1, 2048)];
        random.NextBytes(bytes);

        // Ended by an empty line, so that the server has a whole (malformed) request to answer and need not wait for more.
        return new HostileRequest([[.. bytes, .. "\r\n\r\n"u8]]);
    }

    private static HostileRequest RandomBytesAfterRequestLine(Random random, HostileTarget target)
    {
        var bytes = new byte[random.Next(1, 1024)];
        random.NextBytes(bytes);
        return new HostileRequest([[.. Bytes($"GET {TokenPath(random)}?action=validate HTTP/1.1\r\n"), .. bytes, .. "\r\n\r\n"u8]]);
    }

    private static HostileRequest RawRandomQuery(Random random, HostileTarget target)
    {
        // Any byte but the ones that end the request line: control characters, spaces, 0x7f–0xff, raw.
        var value = new StringBuilder();
        for (var i = random.Next(1, 200); i > 0; i--)
        {
            var b = random.Next(256);
            value.Append(b is '\r' or '\n' ? 'x' : (char)b);
        }

        var name = random.Next(3) == 0 ? value.ToString() : Pick(random, ["action", "token", "username", "password", "address", "format"]);
        return new HostileRequest([Http(random.Next(2) == 0 ? "GET" : "POST", $"{TokenPath(random)}?action=validate&{name}={value}", target.Host, close: Close(random))]);
    }

    private static HostileRequest RandomEncodedValues(Random random, HostileTarget target)
    {
        var (format, expected) = FormatArgument(random);
        var query = new StringBuilder(format);
        foreach (var name in new[] { "action", "username", "password", "address", "token" }.Where(_ => random.Next(3) != 0))
        {
            var bytes = new byte[random.Next(0, 120)];
            random.NextBytes(bytes);
            query.Append(name).Append('=').Append(PercentEncode(bytes)).Append('&');
        }

        // ASP.NET Core's form reader refuses an encoded NUL ("The form value contains invalid characters"), which TokenGate
        // answers as an unreadable body (400 Bad request); the query reader takes it.
        var post = random.Next(2) == 0;
        var refusable = post && query.ToString().Contains("%00", StringComparison.Ordinal);
        var request = post
            ? Http("POST", $"{TokenPath(random)}?{format.TrimEnd('&')}", target.Host, [Form], Bytes(query.ToString()[format.Length..]), Close(random))
            : Http("GET", $"{TokenPath(random)}?{query}", target.Host, close: Close(random));
        return new HostileRequest([request])
        {
            Format = expected,
            Expect = (response, body) => response.Status == 200 || (refusable && body.Error == "Bad request") ? null : "well-formed arguments with random content must get HTTP 200",
        };
    }

    private static HostileRequest HugeValue(Random random, HostileTarget target)
    {
        var size = Pick(random, [4095, 4096, 4097, 8192, 16_000, 16_383, 16_384, 16_385, 24_000, 32_000, 32_768, 33_000, 65_536, 100_000]);
        var name = Pick(random, ["token", "password", "username", "address", "action", "padding"]);
        var unit = Pick(random, ["a", "%41", "+", "%ff"]);
        return InQueryOrForm(random, target, $"action=validate&{name}={string.Concat(Enumerable.Repeat(unit, size / unit.Length))}");
    }

    private static HostileRequest RepeatedParameters(Random random, HostileTarget target)
    {
        var pair = Pick(random, ["action=get", "action=validate", "username=u", "token=x", "password=p", "address=1.2.3.4", "x=1"]);
        var count = Pick(random, [2, 3, 10, 100, 1000, 1400, 2000, 2700]);
        return InQueryOrForm(random, target, string.Join('&', Enumerable.Repeat(pair, count)));
    }

    private static HostileRequest ManyParameters(Random random, HostileTarget target)
    {
        var count = Pick(random, [63, 64, 65, 500, 2000, 3000]);
        return InQueryOrForm(random, target, string.Join('&', Enumerable.Range(0, count).Select(i => $"p{i}={i}")) + "&action=validate");
    }

    /// <summary>
    /// <paramref name="arguments"/> in the query string of a GET or in the form body of a POST, at random, with a format argument
    /// in the query. A query string over the contract's 16 KB is refused before any argument is read, so in JSON.
    /// </summary>
    private static HostileRequest InQueryOrForm(Random random, HostileTarget target, string arguments)
    {
        var (format, expected) = FormatArgument(random);
        byte[] request;
        if (random.Next(2) == 0)
        {
            var query = format + arguments;
            request = Http("GET", $"{TokenPath(random)}?{query}", target.Host, close: Close(random));
            expected = query.Length > ContractArguments.MaxQueryLength ? "json" : expected;
        }
        else
        {
            request = Http("POST", $"{TokenPath(random)}?{format.TrimEnd('&')}", target.Host, [Form], Bytes(arguments), Close(random));
        }

        return new HostileRequest([request]) { Format = expected, MayGoUnanswered = request.Length > LargeRequest };
    }

    private static HostileRequest BadPercentEncoding(Random random, HostileTarget target)
    {
        var (format, expected) = FormatArgument(random);
        string Bad() => string.Concat(Enumerable.Range(0, random.Next(1, 4)).Select(_ => Pick(random, BadEscapes)));
        var name = Pick(random, ["action", "token", "username", "password", "address"]);
        switch (random.Next(4))
        {
            case 0:
                return new HostileRequest([Http("GET", $"{TokenPath(random)}?{format}action=validate&{name}={Bad()}", target.Host, close: Close(random))]) { Format = expected };
            case 1:
                return new HostileRequest([Http("GET", $"{TokenPath(random)}?{format}action=validate&{Bad()}={Bad()}&{Bad()}", target.Host, close: Close(random))]) { Format = expected };
            case 2:
                var path = Pick(random, ["/token%2ephp", "/token.ph%70", "/%74oken.php", "/token.php%00", "/token.php%zz", "/%c3%28/token.php", "/api%2ftoken.php", "/%", "/token%", "/%2e%2e/token.php"]);
                return new HostileRequest([Http("GET", $"{path}?{format}action=validate", target.Host, close: Close(random))]) { Format = expected };
            default:
                var body = $"action=get&username={Bad()}&password={Bad()}&{Bad()}={Bad()}";
                return new HostileRequest([Http("POST", $"{TokenPath(random)}?{format.TrimEnd('&')}", target.Host, [Form], Bytes(body), Close(random))]) { Format = expected };
        }
    }

    private static HostileRequest InvalidUtf8(Random random, HostileTarget target)
    {
        var (format, expected) = FormatArgument(random);
        var raw = string.Concat(Enumerable.Range(0, random.Next(1, 4)).Select(_ => Pick(random, InvalidUtf8Sequences)));
        var encoded = PercentEncode(Encoding.Latin1.GetBytes(raw));
        return random.Next(4) switch
        {
            // Percent-encoded: reaches TokenGate, which must decode it without failing.
            0 => new HostileRequest([Http("GET", $"{TokenPath(random)}?{format}action=get&username={encoded}&password={encoded}", target.Host, close: Close(random))]) { Format = expected },
            1 => new HostileRequest([Http("GET", $"{TokenPath(random)}?{format}action={encoded}&token={encoded}", target.Host, close: Close(random))]) { Format = expected },

            // Raw in a form body, and raw in the request line (which Kestrel refuses).
            2 => new HostileRequest([Http("POST", $"{TokenPath(random)}?{format.TrimEnd('&')}", target.Host, [Form + Pick(random, ["", "; charset=utf-8", "; charset=iso-8859-1"])], Bytes($"action=get&username={raw}&password={raw}&{raw}={raw}"), Close(random))]) { Format = expected },
            _ => new HostileRequest([Http("GET", $"{TokenPath(random)}?action=validate&token={raw}", target.Host, close: Close(random))]),
        };
    }

    private static HostileRequest OddPath(Random random, HostileTarget target)
    {
        var (format, expected) = FormatArgument(random);
        var path = random.Next(3) switch
        {
            0 => "/" + new string('a', Pick(random, [100, 1000, 8000, 16_000, 31_000, 40_000])) + (random.Next(2) == 0 ? "/token.php" : string.Empty),
            1 => "/" + string.Join('/', Enumerable.Repeat("..", Pick(random, [10, 1000, 5000]))) + "/token.php",
            // Not "/": it is the landing answer (issue 24; LandingTests), not an odd path.
            _ => Pick(random, ["//token.php", "/./token.php", "/a/../token.php", "/token.php/", "/TOKEN.PHP", "/Api/Token.php", "/api//token.php", "/token.php;x=1", "/token.php/extra", "/api/token.php.bak", "/token.phpx", "/api/", "/token.php.", "/.token.php", "/token.php%20"]),
        };
        var request = Http("GET", $"{path}?{format}action=validate&token=x", target.Host, close: Close(random));
        return new HostileRequest([request]) { Format = expected, MayGoUnanswered = request.Length > LargeRequest };
    }

    private static HostileRequest WrongMethod(Random random, HostileTarget target)
    {
        var (format, expected) = FormatArgument(random);
        var method = Pick(random, ["PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "HEAD", "BREW", "PROPFIND", "MKCOL", "get", "Post", "G3T", "GE(T", "GET\u00ff", new string('X', 300), "PRI", "-", "SEARCH", "QUERY"]);
        var authorityForm = method == "CONNECT" && random.Next(2) == 0;
        var requestTarget = authorityForm ? target.Host : $"{TokenPath(random)}?{format}action=validate&token=x";
        var body = random.Next(2) == 0 ? Bytes("action=get&username=u&password=p") : null;
        return new HostileRequest([Http(method, requestTarget, target.Host, body is null ? null : [Form], body, Close(random))])
        {
            Head = method == "HEAD",
            Format = authorityForm ? null : expected,
        };
    }

    private static HostileRequest OddContentType(Random random, HostileTarget target)
    {
        var (format, expected) = FormatArgument(random);
        var (contentType, body) = random.Next(16) switch
        {
            0 => ("multipart/form-data; boundary=xyz", "--xyz\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\nvalidate"),
            1 => ("multipart/form-data; boundary=xyz", "garbage that is not multipart at all"),
            2 => ("multipart/form-data", "--xyz\r\n\r\n--xyz--\r\n"),
            3 => ("multipart/form-data; boundary=\"\"", "--\r\n"),
            4 => ("multipart/form-data; boundary=" + new string('b', Pick(random, [70, 128, 129, 500])), "--b\r\n"),
            5 => ("multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"action\"\r\n" + string.Concat(Enumerable.Repeat("X-Part: 1\r\n", Pick(random, [5, 9, 100]))) + "\r\nvalidate\r\n--b--\r\n"),
            6 => ("multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"action\"\r\nContent-Type: text/plain; charset=utf-7\r\n\r\nvalidate\r\n--b--\r\n"),
            7 => ("multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"action\"; filename=\"a.txt\"\r\n\r\nvalidate\r\n--b--\r\n"),
            8 => ("application/json", "{\"action\":\"get\",\"username\":\"u\",\"password\":\"p\"}"),
            9 => ("application/xml", "<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x \"x\">]><a>&x;</a>"),
            10 => ("text/plain", "action=validate&token=x"),
            11 => ("application/x-www-form-urlencoded; charset=" + Pick(random, ["utf-7", "UTF-7", "\"utf-7\"", "bogus", "utf-16", "utf-32", "ibm037", "x-unknown", ""]), "action=validate&token=x"),
            12 => (string.Empty, "action=validate&token=x"),
            13 => (Pick(random, [";;;==", "application/x-www-form-urlencoded; ; =", "/", "application/", "multipart/", "multipart/mixed; boundary=b", "application/x-www-form-urlencoded, text/plain", "*/*"]), "action=validate&token=x"),
            14 => ("application/x-www-form-urlencoded; " + new string('p', 1000) + "=1", "action=validate&token=x"),
            _ => ("application/octet-stream", "\u0000\u0001\u00ff action=validate"),
        };
        string[] headers = contentType.Length == 0 ? [] : [$"Content-Type: {contentType}"];
        return new HostileRequest([Http("POST", $"{TokenPath(random)}?{format}action=validate", target.Host, headers, Bytes(body), Close(random))]) { Format = expected };
    }

    private static HostileRequest ContentLengthShorter(Random random, HostileTarget target)
    {
        // The bytes past Content-Length are the start of the next request on the connection: a malformed one, ended by an empty
        // line so that the server answers it (with 400) rather than wait for the rest.
        var body = Bytes($"action=validate&token={new string('a', 40)}");
        var declared = random.Next(0, body.Length);
        var head = Bytes($"POST {TokenPath(random)} HTTP/1.1\r\nHost: {target.Host}\r\n{Form}\r\nContent-Length: {declared}\r\n\r\n");
        return new HostileRequest([[.. head, .. body, .. "\r\n\r\n"u8]]) { Responses = 2 };
    }

    private static HostileRequest BadContentLength(Random random, HostileTarget target)
    {
        var length = Pick(random, ["-5", "abc", "99999999999999999999", "5, 6", "0x10", "+5", " 5 ", "5.0", "", "1e3"]);
        var headers = new List<string> { Form, $"Content-Length: {length}" };
        if (random.Next(3) == 0)
        {
            headers.Add($"Content-Length: {random.Next(0, 30)}");
        }

        return new HostileRequest([Http("POST", $"{TokenPath(random)}?action=validate", target.Host, headers, Bytes("action=validate&token=x"), Close(random), contentLength: false)]);
    }

    private static HostileRequest CutShort(Random random, HostileTarget target)
    {
        // A request cut anywhere (or a body shorter than its Content-Length), then the client goes away: FIN or RST.
        var whole = random.Next(2) == 0
            ? Http("POST", $"{TokenPath(random)}?action=get", target.Host, [Form, "Content-Length: 500"], Bytes($"username={Escape(target.Username)}&password="), close: false, contentLength: false)
            : Http("GET", $"{TokenPath(random)}?action=validate&token={new string('b', 40)}", target.Host, ["X-Padding: " + new string('p', 200)], close: false);
        return new HostileRequest([whole[..random.Next(1, whole.Length)]])
        {
            HangUp = random.Next(2) == 0 ? RawHangUp.Fin : RawHangUp.Reset,
            MayGoUnanswered = true,
        };
    }

    private static HostileRequest BadChunking(Random random, HostileTarget target)
    {
        var (format, expected) = FormatArgument(random);
        var chunks = random.Next(9) switch
        {
            0 => "zz\r\naction=validate\r\n0\r\n\r\n",
            1 => "fffffffffffffffffffff\r\naction=validate\r\n0\r\n\r\n",
            2 => "-1\r\naction=validate\r\n0\r\n\r\n",
            3 => "5\r\naction=validate\r\n0\r\n\r\n",
            4 => "f;" + new string('e', Pick(random, [100, 5000, 20_000])) + "\r\naction=validate\r\n0\r\n\r\n",
            5 => "f\r\naction=validate\r\n0\r\nX-Trailer: " + new string('t', Pick(random, [10, 40_000])) + "\r\n\r\n",
            6 => "f\raction=validate\r\n0\r\n\r\n",
            7 => "0\r\n\r\n",
            _ => "f\r\naction=validate\r\n" + string.Concat(Enumerable.Repeat("1\r\nx\r\n", Pick(random, [10, 20_000]))) + "0\r\n\r\n",
        };
        var encoding = Pick(random, ["chunked", "chunked", "chunked, chunked", "gzip, chunked", "identity", "gzip", "Chunked", "chunked ", "x-chunked"]);
        var headers = new List<string> { random.Next(3) == 0 ? "Content-Type: text/plain" : Form, $"Transfer-Encoding: {encoding}" };
        if (random.Next(4) == 0)
        {
            headers.Add("Content-Length: 7");
        }

        var request = Http("POST", $"{TokenPath(random)}?{format}action=validate", target.Host, headers, Bytes(chunks), Close(random), contentLength: false);
        return new HostileRequest([request]) { Format = expected, MayGoUnanswered = request.Length > LargeRequest };
    }

    private static HostileRequest HeaderFlood(Random random, HostileTarget target)
    {
        var (format, expected) = FormatArgument(random);
        var headers = random.Next(3) switch
        {
            0 => Enumerable.Range(0, Pick(random, [30, 62, 63, 64, 65, 100, 1000, 4000])).Select(i => $"X-Flood-{i}: {i}").ToList(),
            1 => [$"X-Big: {new string('v', Pick(random, [1000, 8000, 16_000, 31_000, 32_768, 33_000, 65_536, 100_000]))}"],
            _ => Enumerable.Range(0, Pick(random, [10, 50, 63, 200])).Select(_ => $"Cookie: {new string('c', Pick(random, [10, 500, 2000]))}=1").ToList(),
        };
        var request = Http("GET", $"{TokenPath(random)}?{format}action=validate&token=x", target.Host, headers, close: Close(random));
        return new HostileRequest([request]) { Format = expected, MayGoUnanswered = request.Length > LargeRequest };
    }

    private static HostileRequest MalformedHeaders(Random random, HostileTarget target)
    {
        var header = Pick(random, [
            "NoColon", "Bad Header: 1", ": empty-name", "X-Folded: a\r\n  folded", "X-Nul: a\u0000b", "X-High: caf\u00e9", "X-Ctl: \u0001\u0002",
            "X(Y): 1", "X-Tab:\tvalue", "X-Trailing-Space : 1", new string('N', 20_000) + ": 1", "X-Only-Cr: a\rb", "Host: second.example",
            "Content-Length: 0\r\nContent-Length: 0", "Transfer-Encoding: chunked", "X-Empty:",
        ]);
        return new HostileRequest([Http("GET", $"{TokenPath(random)}?action=validate", target.Host, [header], close: Close(random))]);
    }

    private static HostileRequest BogusHost(Random random, HostileTarget target)
    {
        var (format, expected) = FormatArgument(random);
        var query = $"{format}action=validate&token=x";
        var (requestTarget, host) = random.Next(10) switch
        {
            0 => ($"{TokenPath(random)}?{query}", (string?)null),
            1 => ($"{TokenPath(random)}?{query}", string.Empty),
            2 => ($"{TokenPath(random)}?{query}", Pick(random, ["a b c", "evil.example:99999", "[::1", "\u00e9vil.example", "-", "..", "host/path", "user@host", "127.0.0.1:0", new string('h', 5000)])),
            3 => ($"http://{target.Host}{TokenPath(random)}?{query}", target.Host),
            4 => ($"http://evil.example{TokenPath(random)}?{query}", target.Host),
            5 => ($"https://{target.Host}{TokenPath(random)}?{query}", target.Host),
            6 => ($"ftp://{target.Host}{TokenPath(random)}?{query}", target.Host),
            7 => (target.Host, target.Host),
            8 => ("*", target.Host),
            _ => ($"token.php?{query}", target.Host),
        };
        return new HostileRequest([Http("GET", requestTarget, host, close: Close(random))]) { Format = expected };
    }

    private static HostileRequest HttpVersion(Random random, HostileTarget target)
    {
        var path = $"{TokenPath(random)}?action=validate&token=x";
        var bytes = random.Next(9) switch
        {
            0 => Bytes($"GET {path} HTTP/1.0\r\n\r\n"),
            1 => Bytes($"GET {path}\r\n\r\n"),
            2 => Bytes($"GET {path} HTTP/2.0\r\nHost: {target.Host}\r\n\r\n"),
            3 => Bytes($"GET {path} HTTP/1.2\r\nHost: {target.Host}\r\n\r\n"),
            4 => Bytes($"GET {path} http/1.1\r\nHost: {target.Host}\r\n\r\n"),
            5 => Bytes($"GET {path} HTTP/1.1 \r\nHost: {target.Host}\r\n\r\n"),
            6 => Bytes($"GET {path} HTTP/9.9\r\nHost: {target.Host}\r\n\r\n"),
            7 => Bytes($"GET  {path}  HTTP/1.1\r\nHost: {target.Host}\r\n\r\n"),
            _ => [.. "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8, .. new byte[] { 0, 0, 0, 4, 0, 0, 0, 0, 0 }],
        };
        return new HostileRequest([bytes]);
    }

    private static HostileRequest FormatVariants(Random random, HostileTarget target)
    {
        var (value, expected) = Pick(random, [
            ("xml", "xml"), ("XML", "xml"), ("Xml", "xml"), ("json", "json"), ("JSON", "json"), ("", "json"), ("garbage", "json"),
            ("%00xml", "json"), ("xml%00", "json"), ("xml%20", "json"), ("%78%6d%6c", "xml"), ("x%6dl", "xml"), ("jsonp", "json"),
            ("xml&format=json", "xml"), ("%ff", "json"), ("xml;", "json"), (new string('x', 4096), "json"), ("html", "json"),
        ]);
        var action = Pick(random, Actions);
        var request = random.Next(3) == 0
            ? Http("POST", $"{TokenPath(random)}?format={value}", target.Host, [Form], Bytes($"action={action}&token=x"), Close(random))
            : Http("GET", $"{TokenPath(random)}?format={value}&action={action}&token=x", target.Host, close: Close(random));
        return new HostileRequest([request]) { Format = expected };
    }

    private static HostileRequest TokenShapes(Random random, HostileTarget target)
    {
        var (format, expected) = FormatArgument(random, clean: true);
        var token = Pick(random, [
            new string('a', 39), new string('a', 41), string.Empty, target.KnownToken.ToUpperInvariant(), target.KnownToken[..39] + "g",
            target.KnownToken + "0", "%20" + target.KnownToken, target.KnownToken[..39] + "%00", "%" + target.KnownToken, new string('0', 40),
            PercentEncode(Encoding.ASCII.GetBytes(target.KnownToken))[..^1], new string('f', 4096), "%F0%9F%98%80", "+" + target.KnownToken[1..],
        ]);
        var action = Pick(random, ["validate", "delete"]);
        return new HostileRequest([Http("GET", $"{TokenPath(random)}?{format}action={action}&token={token}", target.Host, close: Close(random))])
        {
            Source = random.Next(2) == 0 ? target.KnownTokenAddress : IPAddress.None,
            Format = expected,
            Expect = (response, body) => response.Status == 413 || body.Error == "Invalid token" ? null : "a token of the wrong shape was not answered Invalid token",
        };
    }

    private static HostileRequest NullBytes(Random random, HostileTarget target)
    {
        var (format, expected) = FormatArgument(random);
        return random.Next(6) switch
        {
            0 => new HostileRequest([Http("GET", $"/token.php\u0000?{format}action=validate", target.Host, close: Close(random))]),
            1 => new HostileRequest([Http("GET", $"{TokenPath(random)}?{format}action=valid\u0000ate", target.Host, close: Close(random))]),
            2 => new HostileRequest([Http("GET", $"{TokenPath(random)}?{format}action=validate", target.Host, ["X-Nul: \u0000"], close: Close(random))]),
            3 => new HostileRequest([Http("GET", $"{TokenPath(random)}?{format}action=%00validate&token=%00%00", target.Host, close: Close(random))]) { Format = expected },
            4 => new HostileRequest([Http("POST", $"{TokenPath(random)}?{format.TrimEnd('&')}", target.Host, [Form], Bytes("action=get\u0000&username=\u0000&password=\u0000\u0000"), Close(random))]) { Format = expected },
            _ => new HostileRequest([[.. new byte[random.Next(1, 100)], .. "\r\n\r\n"u8]]),
        };
    }

    private static HostileRequest AddressArgument(Random random, HostileTarget target)
    {
        var (format, expected) = FormatArgument(random);
        var address = Pick(random, [
            string.Join(",", Enumerable.Repeat("1.1.1.1", 11)), string.Join(",", Enumerable.Range(1, 11).Select(i => $"10.0.0.{i}")), new string(',', 4000),
            "fe80::1%25eth0", "[::1]", "1.2.3.4/24", "999.1.1.1", "::ffff:1.2.3.4", "1.2.3.4:80", "localhost", "%ff%fe", " , , ", "0.0.0.0",
            "255.255.255.255", "::", "1.2.3", "01.02.03.04", "0x7f.1", "2001:db8::1, 2001:db8::1", "1.2.3.4,,5.6.7.8", "1.2.3.4%2C%20%205.6.7.8",
        ]);
        var body = $"action=get&username={Escape(target.Username)}&password={Escape(target.Password)}&address={address}";
        return new HostileRequest([Http("POST", $"{TokenPath(random)}?{format.TrimEnd('&')}", target.Host, [Form], Bytes(body), Close(random))])
        {
            Format = expected,
            Expect = (response, _) => response.Status == 200 ? null : "a get with an odd address must be answered with HTTP 200",
        };
    }

    private static HostileRequest Pipelined(Random random, HostileTarget target)
    {
        // Whole requests back to back in one write; the last asks the server to close. A malformed one ends the connection early
        // (with Connection: close on its 400), which the judge accepts.
        var count = random.Next(2, 8);
        var requests = new List<byte[]>();
        for (var i = 0; i < count; i++)
        {
            var last = i == count - 1;
            requests.Add(random.Next(6) switch
            {
                0 => Http("GET", $"{TokenPath(random)}?action=validate&token={new string('c', 40)}", target.Host, close: last),
                1 => Http("POST", $"{TokenPath(random)}", target.Host, [Form], Bytes("action=validate&token=x"), last),
                2 => Http("DELETE", $"{TokenPath(random)}?action=validate", target.Host, close: last),
                3 => Http("GET", $"{TokenPath(random)}?action=%zz&token=%c3%28", target.Host, close: last),
                4 => Http("GET", "/nowhere?format=xml", target.Host, close: last),
                _ => Http("GET", $"{TokenPath(random)}?action=validate&token=\u00ff", target.Host, close: last),
            });
        }

        return new HostileRequest([[.. requests.SelectMany(r => r)]]) { Responses = count };
    }

    private static HostileRequest ExpectAndUpgrade(Random random, HostileTarget target)
    {
        var (format, expected) = FormatArgument(random);
        var headers = random.Next(6) switch
        {
            0 => new List<string> { Form, "Expect: 100-continue" },
            1 => [Form, "Expect: " + Pick(random, ["nonsense", "100-continue, 200-ok", "", new string('e', 2000)])],
            2 => [Form, "Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c", "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"],
            3 => [Form, "Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"],
            4 => [Form, "Upgrade: " + Pick(random, ["garbage", "HTTP/2.0", "TLS/1.0"]), "Connection: upgrade"],
            _ => [Form, "Connection: " + Pick(random, ["keep-alive, close", "foo, bar", new string('k', 3000), "TE", "Upgrade"]), "TE: trailers"],
        };
        return new HostileRequest([Http("POST", $"{TokenPath(random)}?{format.TrimEnd('&')}", target.Host, headers, Bytes("action=validate&token=x"), Close(random))]) { Format = expected };
    }

    private static HostileRequest SpoofedForwarding(Random random, HostileTarget target)
    {
        // No trusted proxy is configured: the known token, bound to another address, must stay Invalid whatever the headers claim.
        var (format, expected) = FormatArgument(random, clean: true);
        var claimed = target.KnownTokenAddress.ToString();
        var headers = Pick<string[]>(random, [
            [$"X-Forwarded-For: {claimed}"], [$"X-Forwarded-For: 10.0.0.1, {claimed}"], [$"Forwarded: for={claimed}"], [$"X-Real-IP: {claimed}"],
            [$"X-Forwarded-For: {claimed}", $"X-Forwarded-For: {claimed}"], ["X-Forwarded-For: garbage,,,%ff"], [$"X-Forwarded-For: {string.Join(",", Enumerable.Repeat(claimed, 500))}"],
            [$"X-Forwarded-Host: evil.example", $"X-Forwarded-Proto: https", $"X-Forwarded-For: {claimed}"],
        ]);
        return new HostileRequest([Http("GET", $"{TokenPath(random)}?{format}action=validate&token={target.KnownToken}", target.Host, headers, close: Close(random))])
        {
            Format = expected,
            Expect = (_, body) => body.Error == "Invalid token" ? null : "a forwarding header from an untrusted peer was believed",
        };
    }

    private static HostileRequest GetWithBody(Random random, HostileTarget target)
    {
        var (format, expected) = FormatArgument(random, clean: true);
        var body = Bytes("action=get&username=u&password=p" + new string('x', Pick(random, [0, 100, 5000])));
        return new HostileRequest([Http("GET", $"{TokenPath(random)}?{format}action=validate&token=x", target.Host, random.Next(2) == 0 ? [Form] : [], body, Close(random))])
        {
            Format = expected,
            Expect = (_, content) => content.Error == "Invalid token" ? null : "a GET's body was read as arguments",
        };
    }

    private static HostileRequest OtherEndpoints(Random random, HostileTarget target)
    {
        // Not token.php: their answers are not contract bodies (RFC 6749 errors, health, the API document), but they must not be
        // 5xx either, and a JSON answer must be JSON.
        var path = Pick(random, ["/oauth2/token", "/oauth2/token", "/oauth2/revoke", "/oauth2/introspect", "/healthz", "/readyz", "/openapi.json", "/docs"]);
        var method = Pick(random, ["POST", "POST", "POST", "GET", "PUT", "HEAD", "DELETE"]);
        var secret = random.Next(3) == 0 ? PercentEncode(Encoding.Latin1.GetBytes(Pick(random, InvalidUtf8Sequences))) : "wrong-" + random.Next();
        var body = Pick(random, [
            $"grant_type=client_credentials&client_id={Escape(target.Username)}&client_secret={secret}",
            $"grant_type={Pick(random, ["password", "garbage", "", "%00", "client_credentials&grant_type=client_credentials"])}&client_id=x&client_secret=y",
            $"token={Pick(random, [target.KnownToken, new string('a', 40), "%zz", string.Empty, new string('t', 5000)])}&token_type_hint={Pick(random, ["access_token", "refresh_token", "%ff"])}",
            string.Join('&', Enumerable.Repeat("client_id=x", Pick(random, [2, 17, 2000]))),
            string.Concat(Enumerable.Range(0, random.Next(1, 4)).Select(_ => Pick(random, BadEscapes))) + "=" + Pick(random, BadEscapes),
        ]);
        var headers = new List<string>
        {
            Pick(random, [Form, Form, Form + "; charset=utf-7", Form + "; charset=bogus", "application/json", "multipart/form-data; boundary=b", "text/plain"]),
        };
        var basic = random.Next(7) switch
        {
            0 => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{target.Username}:{secret}")),
            1 => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("no-colon")),
            2 => "Basic " + Convert.ToBase64String([0xff, 0xfe, 0x3a, 0xc3, 0x28]),
            3 => "Basic " + Pick(random, ["!!!not-base64!!!", "=", "====", string.Empty, new string('A', 12_000)]),
            4 => "Bearer " + Pick(random, [target.KnownToken, "x", new string('b', 3000)]),
            _ => null,
        };
        if (basic is not null)
        {
            headers.Add("Authorization: " + basic);
        }

        var chunked = method == "POST" && random.Next(6) == 0;
        byte[] content = chunked ? Bytes(Pick(random, ["zz\r\n" + body + "\r\n0\r\n\r\n", "5\r\n" + body + "\r\n0\r\n\r\n"])) : Bytes(body);
        if (chunked)
        {
            headers.Add("Transfer-Encoding: chunked");
        }

        var request = Http(method, path, target.Host, headers, method is "GET" or "HEAD" && random.Next(2) == 0 ? null : content, Close(random), contentLength: !chunked);
        return new HostileRequest([request]) { Head = method == "HEAD", ContractBodies = false };
    }

    /// <summary>Bigger than the socket buffers: the server may answer before all of it is sent and close, and the client may lose
    /// that answer to the reset (see <see cref="HostileRequest.MayGoUnanswered"/>).</summary>
    private const int LargeRequest = 48 * 1024;

    private static string? Served(RawResponse response, ContractBody body) =>
        response.Status == 200 && (body.Success || body.Error == "Too many tokens") ? null : "a valid get was not served";

    /// <summary>
    /// A <c>format</c> argument for the query (with its <c>&amp;</c>) and the format the answer must be in. Not
    /// <paramref name="clean"/>, it may be an unknown format, which is answered <c>Bad argument: format</c> (in JSON) before anything else.
    /// </summary>
    private static (string Parameter, string Format) FormatArgument(Random random, bool clean = false) => random.Next(clean ? 7 : 8) switch
    {
        0 or 1 => (string.Empty, "json"),
        2 => ("format=json&", "json"),
        3 or 4 => ("format=xml&", "xml"),
        5 => ("format=XML&", "xml"),
        6 => ("format=&", "json"),
        _ => ("format=garbage&", "json"),
    };

    private static string Address(Random random) => random.Next(4) switch
    {
        0 => string.Empty,
        1 => "&address=10.0.0.1",
        2 => "&address=10.0.0.1,%20::1",
        _ => $"&address=10.{random.Next(256)}.{random.Next(256)}.{random.Next(1, 255)}",
    };

    private static string TokenPath(Random random) => random.Next(2) == 0 ? "/token.php" : "/api/token.php";

    /// <summary>Most requests ask the server to close after answering; the rest leave the connection open and are closed by us.</summary>
    private static bool Close(Random random) => random.Next(10) != 0;

    private static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];

    private static string Escape(string value) => Uri.EscapeDataString(value);

    private static string PercentEncode(byte[] bytes) => string.Concat(bytes.Select(b => $"%{b:x2}"));

    /// <summary>The text as bytes, one per character (Latin-1), so that raw bytes 0x80–0xff can be written as characters.</summary>
    private static byte[] Bytes(string text) => Encoding.Latin1.GetBytes(text);

    private static byte[] Chunked(byte[] body, Random random)
    {
        var output = new List<byte>();
        for (var position = 0; position < body.Length;)
        {
            var size = Math.Min(random.Next(1, 40), body.Length - position);
            output.AddRange(Bytes($"{size:x}\r\n"));
            output.AddRange(body.AsSpan(position, size).ToArray());
            output.AddRange("\r\n"u8.ToArray());
            position += size;
        }

        output.AddRange("0\r\n\r\n"u8.ToArray());
        return [.. output];
    }

    private static byte[][] Split(byte[] bytes, int pieces, Random random)
    {
        var cuts = Enumerable.Range(0, pieces - 1).Select(_ => random.Next(1, bytes.Length)).Distinct().Order().ToList();
        var result = new List<byte[]>();
        var start = 0;
        foreach (var cut in cuts.Append(bytes.Length))
        {
            result.Add(bytes[start..cut]);
            start = cut;
        }

        return [.. result];
    }

    /// <summary>An HTTP/1.1 request; <paramref name="host"/> null leaves out the Host header.</summary>
    private static byte[] Http(string method, string target, string? host, IEnumerable<string>? headers = null, byte[]? body = null, bool close = true, bool contentLength = true)
    {
        var text = new StringBuilder().Append(CultureInfo.InvariantCulture, $"{method} {target} HTTP/1.1\r\n");
        if (host is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $"Host: {host}\r\n");
        }

        foreach (var header in headers ?? [])
        {
            text.Append(header).Append("\r\n");
        }

        if (body is not null && contentLength)
        {
            text.Append(CultureInfo.InvariantCulture, $"Content-Length: {body.Length}\r\n");
        }

        if (close)
        {
            text.Append("Connection: close\r\n");
        }

        text.Append("\r\n");
        return [.. Bytes(text.ToString()), .. body ?? []];
    }
}
