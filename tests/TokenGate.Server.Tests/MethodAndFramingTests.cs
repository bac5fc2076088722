using System.Net;
using System.Text;
using TokenGate.Testing;

namespace TokenGate.Server.Tests;

/// <summary>
/// Issue 25, item 8: the probes answer GET and HEAD only; HEAD is GET without a body (RFC 9110 §9.3.2) on token.php, the API
/// document and the probes; a <c>Content-Length</c> that is not all digits (RFC 9110 §8.6) is refused before its body is read.
/// </summary>
public sealed class MethodAndFramingTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly TimeSpan RawBound = TimeSpan.FromSeconds(20);

    private TokenGateTestServer Server => fixture.Server;

    [Theory]
    [InlineData("healthz", "POST")]
    [InlineData("healthz", "PUT")]
    [InlineData("healthz", "DELETE")]
    [InlineData("healthz", "OPTIONS")]
    [InlineData("healthz", "TRACE")]
    [InlineData("healthz", "BREW")]
    [InlineData("readyz", "POST")]
    [InlineData("readyz", "TRACE")]
    [InlineData("readyz/", "PATCH")]
    [InlineData("READYZ", "TRACE")]
    public async Task A_probe_refuses_every_method_but_get_and_head_with_405_and_allow(string path, string method)
    {
        using var http = Server.CreateClient();

        using var response = await http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal(["GET", "HEAD"], response.Content.Headers.Allow);
        Assert.Equal("Method not allowed", ContractBody.ParseJson(await response.Content.ReadAsStringAsync()).Error);
    }

    /// <summary>
    /// HEAD and then GET on one connection: the HEAD answer has GET's status and headers, and no body byte follows it, or the GET
    /// answer behind it could not be read.
    /// </summary>
    [Theory]
    [InlineData("/token.php?action=validate&token=x")]
    [InlineData("/api/token.php?action=validate&token=x&format=xml")]
    [InlineData("/docs")]
    [InlineData("/openapi.json")]
    [InlineData("/healthz")]
    [InlineData("/readyz")]
    public async Task Head_is_answered_as_get_with_its_headers_and_no_body(string target)
    {
        var exchange = await ExchangeAsync(
            $"HEAD {target} HTTP/1.1\r\nHost: x\r\n\r\nGET {target} HTTP/1.1\r\nHost: x\r\n\r\n", responses: 2, firstIsHead: true);

        Assert.True(exchange.Ending == RawEnding.Answered, exchange.ToString());
        var (head, get) = (exchange.Responses[0], exchange.Responses[1]);
        Assert.Equal(200, get.Status);
        Assert.Equal(get.Status, head.Status);
        Assert.Equal(get.Header("Content-Type"), head.Header("Content-Type"));
        Assert.Equal(get.Header("Content-Length"), head.Header("Content-Length"));
        Assert.Equal(get.Header("Cache-Control"), head.Header("Cache-Control"));
        Assert.Empty(head.Body);
        Assert.NotEmpty(get.Body);
    }

    [Fact]
    public async Task Token_php_lists_head_among_its_methods_in_allow()
    {
        using var http = Server.CreateClient();

        using var response = await http.SendAsync(new HttpRequestMessage(HttpMethod.Put, "token.php?action=validate"));

        Assert.Equal(["GET", "HEAD", "POST"], response.Content.Headers.Allow);
    }

    /// <summary>
    /// The body is a complete, correct <c>get</c>: read, it would issue a token (the digits-only control shows it does). Kestrel
    /// reads <c>+15</c> as 15; TokenGate refuses it with the contract's 400 before the body is read, and closes the connection,
    /// since where a next request would start is unknown.
    /// </summary>
    [Theory]
    [InlineData("+{0}")]
    [InlineData("+0{0}")]
    [InlineData("\t+{0}")]
    public async Task A_content_length_with_a_sign_is_refused_with_400_and_its_body_is_not_processed(string form)
    {
        var (name, password) = await fixture.NewAccountAsync();
        var body = $"action=get&username={name}&password={Uri.EscapeDataString(password)}";
        var issuedBefore = Server.Metrics.TokensIssued;

        var refused = await PostAsync(body, Format(form, body.Length));

        Assert.True(refused.Ending is RawEnding.Answered, refused.ToString());
        var answer = Assert.Single(refused.Responses);
        Assert.Equal(400, answer.Status);
        Assert.Equal("Bad request", ContractBody.ParseJson(answer.BodyText).Error);
        Assert.True(answer.Closes, "Connection: close");
        Assert.Equal("nosniff", answer.Header("X-Content-Type-Options"));
        Assert.Equal(issuedBefore, Server.Metrics.TokensIssued);

        var control = await PostAsync(body, Format("{0}", body.Length));

        Assert.True(ContractBody.ParseJson(Assert.Single(control.Responses).BodyText).Success, control.ToString());
        Assert.Equal(issuedBefore + 1, Server.Metrics.TokensIssued);
    }

    /// <summary>Other non-digit forms never reach TokenGate: Kestrel refuses them while parsing (a bare 400, docs/SECURITY.md).</summary>
    [Theory]
    [InlineData("0x{0:x}")]
    [InlineData("{0}.0")]
    [InlineData("{0}e0")]
    [InlineData("-{0}")]
    public async Task Other_non_digit_content_lengths_are_refused_by_kestrel_and_their_body_is_not_processed(string form)
    {
        var (name, password) = await fixture.NewAccountAsync();
        var body = $"action=get&username={name}&password={Uri.EscapeDataString(password)}";
        var issuedBefore = Server.Metrics.TokensIssued;

        var refused = await PostAsync(body, Format(form, body.Length));

        Assert.Equal(400, Assert.Single(refused.Responses).Status);
        Assert.Equal(issuedBefore, Server.Metrics.TokensIssued);
    }

    [Theory]
    [InlineData("Content-Length: +15\r\n", true)]
    [InlineData("content-length:\t+15\r\n", true)]
    [InlineData("Content-Length: 15\r\n", false)]
    [InlineData("X-Content-Length: +15\r\n", false)]
    [InlineData("Content-Length: ", false)]
    public void The_screen_finds_a_content_length_line_whose_value_does_not_start_with_a_digit(string head, bool malformed)
    {
        var bytes = Encoding.ASCII.GetBytes("POST /token.php HTTP/1.1\r\nHost: x\r\n" + head);

        Assert.Equal(malformed, Api.ContentLengthScreen.HoldsMalformedContentLength(bytes));
    }

    private static string Format(string form, int length) => string.Format(System.Globalization.CultureInfo.InvariantCulture, form, length);

    private Task<RawExchange> PostAsync(string body, string contentLength) =>
        ExchangeAsync(
            $"POST /token.php HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {contentLength}\r\n\r\n{body}",
            responses: 1,
            firstIsHead: false);

    private Task<RawExchange> ExchangeAsync(string request, int responses, bool firstIsHead) =>
        RawHttp.ExchangeAsync(
            new IPEndPoint(IPAddress.Loopback, Server.BaseAddress.Port),
            LoopbackClient.First,
            [Encoding.ASCII.GetBytes(request)],
            responses,
            firstIsHead,
            RawHangUp.AfterAnswer,
            RawBound,
            TestContext.Current.CancellationToken);
}
