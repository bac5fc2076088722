using System.Net;
using System.Net.Sockets;
using System.Text;
using TokenGate.Testing;

namespace TokenGate.Server.Tests;

/// <summary>Malformed requests get the contract's error body and the status CONTRACT.md gives: never a 500, a stack trace or a hang.</summary>
public sealed class BadInputTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly HashSet<HttpStatusCode> ContractStatuses =
        [HttpStatusCode.OK, HttpStatusCode.BadRequest, HttpStatusCode.NotFound, HttpStatusCode.MethodNotAllowed, HttpStatusCode.RequestEntityTooLarge];

    private TokenGateTestServer Server => fixture.Server;

    private static async Task<ContractBody> AssertContractAsync(HttpResponseMessage response, HttpStatusCode expected, string? error = null)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(expected, response.StatusCode);
        var xml = response.Content.Headers.ContentType?.MediaType == "application/xml";
        var body = ContractBody.Parse(text, xml ? "xml" : "json");
        Assert.False(body.Success);
        if (error is not null)
        {
            Assert.Equal(error, body.Error);
        }

        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
        return body;
    }

    [Theory]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    [InlineData("PATCH")]
    [InlineData("OPTIONS")]
    [InlineData("TRACE")]
    [InlineData("BREW")]
    public async Task Other_methods_get_405_with_a_contract_body_in_the_asked_format(string method)
    {
        using var http = Server.CreateClient();

        var json = await http.SendAsync(new HttpRequestMessage(new HttpMethod(method), "token.php?action=validate&token=x"));
        var xml = await http.SendAsync(new HttpRequestMessage(new HttpMethod(method), "api/token.php?action=validate&format=xml"));

        await AssertContractAsync(json, HttpStatusCode.MethodNotAllowed, "Method not allowed");
        Assert.Equal("application/xml", xml.Content.Headers.ContentType?.MediaType);
        await AssertContractAsync(xml, HttpStatusCode.MethodNotAllowed, "Method not allowed");
        Assert.Contains("GET", json.Content.Headers.Allow);
        Assert.Contains("POST", json.Content.Headers.Allow);
    }

    [Fact]
    public async Task Unknown_paths_get_404_with_a_contract_body()
    {
        using var http = Server.CreateClient();
        foreach (var path in new[] { "index.php", "token.php/extra", "api/token.php.bak", "api/", "token.phpx?format=xml" })
        {
            await AssertContractAsync(await http.GetAsync(path), HttpStatusCode.NotFound, "Not found");
        }
    }

    [Fact]
    public async Task A_value_over_4_KB_is_413_in_the_query_and_in_the_body()
    {
        using var http = Server.CreateClient();
        var big = new string('a', 4097);

        await AssertContractAsync(await http.GetAsync($"token.php?action=validate&token={big}"), HttpStatusCode.RequestEntityTooLarge, "Request too large");
        await AssertContractAsync(
            await http.PostAsync("token.php", new FormUrlEncodedContent(new Dictionary<string, string> { ["action"] = "get", ["username"] = "u", ["password"] = big })),
            HttpStatusCode.RequestEntityTooLarge,
            "Request too large");
        await AssertContractAsync(
            await http.PostAsync("token.php", new MultipartFormDataContent { { new StringContent(big), "password" }, { new StringContent("get"), "action" } }),
            HttpStatusCode.RequestEntityTooLarge,
            "Request too large");
        Assert.Equal("Invalid token", (await AssertContractAsync(await http.GetAsync($"token.php?action=validate&token={new string('a', 4096)}"), HttpStatusCode.OK)).Error);
    }

    [Fact]
    public async Task A_body_over_16_KB_or_a_query_over_16_KB_is_413()
    {
        using var http = Server.CreateClient();
        var fields = Enumerable.Range(0, 10).Select(i => new KeyValuePair<string, string>($"pad{i}", new string('x', 2000))).Append(new("action", "validate"));
        var query = string.Join("&", Enumerable.Range(0, 10).Select(i => $"pad{i}={new string('x', 2000)}"));

        await AssertContractAsync(await http.PostAsync("token.php", new FormUrlEncodedContent(fields)), HttpStatusCode.RequestEntityTooLarge, "Request too large");
        await AssertContractAsync(await http.GetAsync($"token.php?action=validate&{query}"), HttpStatusCode.RequestEntityTooLarge, "Request too large");
    }

    [Fact]
    public async Task A_chunked_body_over_16_KB_is_413()
    {
        using var http = Server.CreateClient();
        var content = new StreamContent(new MemoryStream(Encoding.ASCII.GetBytes("action=validate&pad=" + new string('x', 20_000))));
        content.Headers.ContentType = new("application/x-www-form-urlencoded");
        using var request = new HttpRequestMessage(HttpMethod.Post, "token.php") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        await AssertContractAsync(await http.SendAsync(request), HttpStatusCode.RequestEntityTooLarge, "Request too large");
    }

    [Theory]
    [InlineData("action")]
    [InlineData("token")]
    [InlineData("format")]
    [InlineData("password")]
    public async Task A_repeated_argument_is_a_bad_argument_in_the_query_and_in_the_body(string name)
    {
        using var http = Server.CreateClient();
        var inQuery = await http.GetAsync($"token.php?action=validate&token=x&password=p&format=json&{name}=again");
        var inBody = await http.PostAsync("token.php", new FormUrlEncodedContent(
            [new("action", "validate"), new("token", "x"), new("password", "p"), new("format", "json"), new(name, "again")]));

        await AssertContractAsync(inQuery, HttpStatusCode.OK, $"Bad argument: {name}");
        await AssertContractAsync(inBody, HttpStatusCode.OK, $"Bad argument: {name}");
    }

    [Theory]
    [InlineData("token.php?action=validate&token=%zz%")]
    [InlineData("token.php?action=validate&token=%c3%28%ff%fe")]
    [InlineData("token.php?action=get&username=%00%01&password=%ff%ff%ff%ff%ff%ff%ff%ff")]
    [InlineData("token.php?action=%E2%82&token=1")]
    [InlineData("token.php?%=%&&&==&action=validate")]
    [InlineData("token.php?action=get&username=a%2Cb&password=%2B%2B%2B%2B%2B%2B%2B%2B&address=%5B::1%5D")]
    [InlineData("token.php?action=validate&format=%00xml")]
    [InlineData("token.php?ACTION=validate&Token=abc")]
    public async Task Bad_percent_encoding_and_invalid_utf8_in_the_query_get_a_contract_answer(string url)
    {
        using var http = Server.CreateClient();
        await AssertContractAsync(await http.GetAsync(url), HttpStatusCode.OK);
    }

    [Fact]
    public async Task Invalid_utf8_and_bad_percent_encoding_in_a_form_body_get_a_contract_answer()
    {
        using var http = Server.CreateClient();
        var bytes = new byte[] { 0x61, 0x63, 0x74, 0x69, 0x6f, 0x6e, 0x3d, 0x67, 0x65, 0x74, 0x26, 0x75, 0x73, 0x65, 0x72, 0x6e, 0x61, 0x6d, 0x65, 0x3d, 0xff, 0xfe, 0xc3, 0x28, 0x26, 0x70, 0x61, 0x73, 0x73, 0x77, 0x6f, 0x72, 0x64, 0x3d, 0x25, 0x7a, 0x7a, 0x25 };
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new("application/x-www-form-urlencoded");

        var body = await AssertContractAsync(await http.PostAsync("token.php", content), HttpStatusCode.OK);

        Assert.Equal("Authentication failure", body.Error);
    }

    [Theory]
    [InlineData("multipart/form-data; boundary=xyz", "--xyz\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\nvalidate")]
    [InlineData("multipart/form-data; boundary=xyz", "garbage that is not multipart at all")]
    [InlineData("multipart/form-data", "--xyz\r\n\r\n--xyz--\r\n")]
    [InlineData("multipart/form-data; boundary=\"\"", "--\r\n")]
    // Found by probing for the hostile-input run: .NET refuses UTF-7 with NotSupportedException, which escaped as a 500.
    [InlineData("application/x-www-form-urlencoded; charset=utf-7", "action=validate&token=x")]
    [InlineData("application/x-www-form-urlencoded; charset=UTF-7", "action=validate&token=x")]
    [InlineData("multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"action\"\r\nContent-Type: text/plain; charset=utf-7\r\n\r\nvalidate\r\n--b--\r\n")]
    public async Task A_malformed_multipart_body_or_a_form_in_a_charset_the_runtime_refuses_gets_400_with_a_contract_body(string contentType, string payload)
    {
        using var http = Server.CreateClient();
        var content = new StringContent(payload);
        content.Headers.Remove("Content-Type");
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);

        await AssertContractAsync(await http.PostAsync("token.php?action=validate", content), HttpStatusCode.BadRequest, "Bad request");
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/json")]
    [InlineData("application/octet-stream")]
    public async Task A_post_body_that_is_not_a_form_is_ignored_and_the_query_is_used(string contentType)
    {
        using var http = Server.CreateClient();
        var content = new StringContent("{\"action\":\"get\",\"token\":\"zzz\"}", Encoding.UTF8, contentType);

        var body = await AssertContractAsync(await http.PostAsync("token.php?action=validate&token=abc", content), HttpStatusCode.OK);

        Assert.Equal("Invalid token", body.Error);
    }

    [Fact]
    public async Task A_seeded_stream_of_random_requests_never_gets_a_5xx_and_always_a_contract_body()
    {
        using var http = Server.CreateClient();
        var random = new Random(20261122);
        string[] names = ["action", "username", "password", "address", "token", "format", "ACTION", "x", "", "%", "a b"];
        string[] values = ["get", "validate", "delete", "newpass", "json", "xml", "XML", "", "%", "%zz", "%00", "%ff%fe", "1.2.3.4", "::1,::1,::1", new string('z', 40), "+", "&", "="];
        string[] methods = ["GET", "POST", "POST", "PUT"];

        for (var i = 0; i < 600; i++)
        {
            var pairs = Enumerable.Range(0, random.Next(0, 8)).Select(_ => $"{names[random.Next(names.Length)]}={values[random.Next(values.Length)]}");
            var query = string.Join("&", pairs);
            var method = methods[random.Next(methods.Length)];
            using var request = new HttpRequestMessage(new HttpMethod(method), (random.Next(2) == 0 ? "token.php?" : "api/token.php?") + query);
            if (method == "POST")
            {
                var raw = new byte[random.Next(0, 200)];
                random.NextBytes(raw);
                request.Content = new ByteArrayContent(random.Next(2) == 0 ? Encoding.ASCII.GetBytes(query) : raw);
                request.Content.Headers.ContentType = new(random.Next(3) switch { 0 => "application/x-www-form-urlencoded", 1 => "multipart/form-data", _ => "text/plain" });
            }

            var response = await http.SendAsync(request);
            Assert.Contains(response.StatusCode, ContractStatuses);
            var text = await response.Content.ReadAsStringAsync();
            ContractBody.Parse(text, response.Content.Headers.ContentType?.MediaType == "application/xml" ? "xml" : "json");
        }
    }

    [Fact]
    public async Task A_client_that_sends_half_a_body_and_stops_does_not_hold_the_request_forever()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, Server.BaseAddress.Port));
        var head = "POST /token.php HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\naction=val";
        await socket.SendAsync(Encoding.ASCII.GetBytes(head));

        // Kestrel's minimum body data rate (240 B/s after a 5 s grace) ends the request; the connection is then closed.
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var received = 0;
        int read;
        while ((read = await socket.ReceiveAsync(buffer.AsMemory(received), timeout.Token)) > 0)
        {
            received += read;
        }

        Assert.False(timeout.IsCancellationRequested);
        Assert.DoesNotContain("500", Encoding.ASCII.GetString(buffer, 0, received).Split("\r\n")[0], StringComparison.Ordinal);
    }
}
