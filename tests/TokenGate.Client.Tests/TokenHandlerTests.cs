using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using TokenGate.Testing;

namespace TokenGate.Client.Tests;

/// <summary>
/// The handler against a protected API that checks each token with a real TokenGate server (on a clock the test moves): the
/// token goes where it is asked, and a refusal brings exactly one renewal and one more attempt, or none when the request cannot
/// be sent again.
/// </summary>
public sealed class TokenHandlerTests : IAsyncLifetime
{
    private const int Lifetime = 120;
    private readonly ManualTimeProvider _serverTime = new();
    private readonly ManualTimeProvider _clientTime = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private TokenGateTestServer _server = null!;
    private ProtectedApi _api = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await TokenGateTestServer.StartAsync(new Dictionary<string, string?> { ["TokenLifetime"] = $"{Lifetime}" }, _serverTime);
        _api = await ProtectedApi.StartAsync(_server);
    }

    public async ValueTask DisposeAsync()
    {
        await _api.DisposeAsync();
        await _server.DisposeAsync();
    }

    private long Gets => _server.Metrics.Requests("get");

    private async Task<(HttpClient Http, ITokenProvider Tokens)> ClientAsync(TokenPlacement placement = TokenPlacement.QueryParameter, CapturedLogs? logs = null)
    {
        var account = await _server.NewAccountAsync();
        var tokens = TokenClients.CreateProvider(Clients.Http(handlers: new ServerDateHandler(_serverTime)), _server.Options(account), _clientTime);
        var handler = TokenClients.CreateHandler(tokens, new TokenHandlerOptions { Placement = placement }, logs is null ? null : Clients.Loggers(logs));
        var http = Clients.Http(handlers: handler);
        http.BaseAddress = _api.BaseAddress;
        return (http, tokens);
    }

    private static async Task<string> SuccessDataAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(body.RootElement.GetProperty("success").GetBoolean());
        return body.RootElement.GetProperty("data").GetString()!;
    }

    [Theory]
    [InlineData(TokenPlacement.QueryParameter)]
    [InlineData(TokenPlacement.BearerHeader)]
    public async Task The_token_goes_where_it_is_asked_and_is_reused(TokenPlacement placement)
    {
        var (http, tokens) = await ClientAsync(placement);
        var token = await tokens.GetTokenAsync();

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("hello", await SuccessDataAsync(await http.GetAsync("data?page=" + i + "#fragment")));
        }

        Assert.All(_api.TokensSeen, seen => Assert.Equal(token.Value, seen));
        Assert.Equal(3, _api.Attempts);
        Assert.Equal(1, Gets);
    }

    [Theory]
    [InlineData("json")]
    [InlineData("xml")]
    [InlineData("401")]
    [InlineData("chunked")]
    public async Task An_expired_token_is_renewed_once_and_the_request_sent_once_more(string style)
    {
        var (http, tokens) = await ClientAsync();
        var first = await tokens.GetTokenAsync();
        _serverTime.Advance(TimeSpan.FromSeconds(Lifetime));

        var data = await SuccessDataAsync(await http.GetAsync("data?style=" + style));

        Assert.Equal("hello", data);
        Assert.Equal(2, _api.Attempts);
        Assert.Equal(2, Gets);
        Assert.Equal(first.Value, _api.TokensSeen[0]);
        Assert.NotEqual(first.Value, _api.TokensSeen[1]);
        Assert.Equal((await tokens.GetTokenAsync()).Value, _api.TokensSeen[1]);
    }

    [Theory]
    [InlineData(TokenPlacement.QueryParameter)]
    [InlineData(TokenPlacement.BearerHeader)]
    public async Task A_deleted_token_is_replaced_and_the_retry_carries_only_the_new_one(TokenPlacement placement)
    {
        var (http, tokens) = await ClientAsync(placement);
        var first = await tokens.GetTokenAsync();
        await _server.Api().DeleteTokenAsync(first.Value);

        using var request = new HttpRequestMessage(HttpMethod.Post, "data?style=json") { Content = new StringContent("replay me", Encoding.UTF8, "text/plain") };
        var data = await SuccessDataAsync(await http.SendAsync(request));

        Assert.Equal("hello", data);
        Assert.Equal(["replay me", "replay me"], _api.BodiesSeen);
        Assert.Equal(2, _api.TokensSeen.Count);
        Assert.NotEqual(_api.TokensSeen[0], _api.TokensSeen[1]);
        if (placement == TokenPlacement.QueryParameter)
        {
            Assert.Equal(1, request.RequestUri!.Query.Split("token=").Length - 1);
        }
    }

    [Theory]
    [InlineData("json")]
    [InlineData("401")]
    public async Task When_the_renewed_token_is_refused_too_the_refusal_is_returned_without_a_third_attempt(string style)
    {
        var logs = new CapturedLogs();
        var (http, _) = await ClientAsync(logs: logs);

        var response = await http.GetAsync("data?reject=always&style=" + style);

        Assert.Equal(style == "401" ? HttpStatusCode.Unauthorized : HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Invalid token", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(2, _api.Attempts);
        Assert.Equal(2, Gets);
        Assert.Contains(logs.Lines, l => l.Contains("refused too", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("data?token=stale")]
    [InlineData("data?token=stale&style=json")]
    [InlineData("data?style=json&token=stale&token=older")]
    public async Task A_token_already_in_the_uri_is_replaced_also_when_an_outer_handler_sends_the_request_again(string path)
    {
        var (_, tokens) = await ClientAsync();
        var token = await tokens.GetTokenAsync();
        var handler = TokenClients.CreateHandler(tokens);
        using var http = Clients.Http(handlers: [new SendTwiceHandler(), handler]);
        http.BaseAddress = _api.BaseAddress;

        var data = await SuccessDataAsync(await http.GetAsync(path));

        Assert.Equal("hello", data);
        Assert.Equal([token.Value, token.Value], _api.TokensSeen);
        Assert.Equal(2, _api.Attempts);
    }

    [Fact]
    public async Task When_no_new_token_can_be_had_the_token_apis_error_is_thrown()
    {
        var (http, tokens) = await ClientAsync();
        var token = await tokens.GetTokenAsync();
        var api = _server.Api();
        await api.ChangePasswordAsync(token.Value, "a password the client does not know");
        await api.DeleteTokenAsync(token.Value);

        var failure = await Assert.ThrowsAsync<TokenAuthenticationException>(() => http.GetAsync("data"));

        Assert.Equal("Authentication failure", failure.Error);
        Assert.Equal(1, _api.Attempts);
    }

    [Fact]
    public async Task A_request_whose_content_is_a_stream_is_not_sent_again()
    {
        var logs = new CapturedLogs();
        var (http, tokens) = await ClientAsync(logs: logs);
        await _server.Api().DeleteTokenAsync((await tokens.GetTokenAsync()).Value);

        var content = new StreamContent(new NonSeekableStream(Encoding.UTF8.GetBytes("read me once")));
        var response = await http.PostAsync("data", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Invalid token", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(1, _api.Attempts);
        Assert.Equal(1, Gets);
        Assert.Contains(logs.Lines, l => l.Contains("cannot be sent again", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Json_and_form_contents_are_sent_again()
    {
        Assert.True(Http.TokenRejection.IsReplayable(null));
        Assert.True(Http.TokenRejection.IsReplayable(JsonContent.Create(new { a = 1 })));
        Assert.True(Http.TokenRejection.IsReplayable(new FormUrlEncodedContent([new("a", "b")])));
        Assert.True(Http.TokenRejection.IsReplayable(new MultipartFormDataContent { new StringContent("x") }));
        Assert.False(Http.TokenRejection.IsReplayable(new MultipartFormDataContent { new StreamContent(new MemoryStream()) }));
        Assert.False(Http.TokenRejection.IsReplayable(new StreamContent(new MemoryStream())));
        await Task.CompletedTask;
    }

    [Fact]
    public async Task Many_requests_refused_with_the_same_token_share_one_renewal()
    {
        var (http, tokens) = await ClientAsync();
        await tokens.GetTokenAsync();
        _serverTime.Advance(TimeSpan.FromSeconds(Lifetime));

        var responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => Task.Run(() => http.GetAsync("data"))));

        foreach (var response in responses)
        {
            Assert.Equal("hello", await SuccessDataAsync(response));
        }

        Assert.Equal(2, Gets);
    }

    [Theory]
    [InlineData(HttpCompletionOption.ResponseContentRead)]
    [InlineData(HttpCompletionOption.ResponseHeadersRead)]
    public async Task A_large_chunked_body_passes_through_whole_after_its_start_was_looked_into(HttpCompletionOption completion)
    {
        var (http, _) = await ClientAsync();

        using var response = await http.GetAsync("large", completion);
        var body = await response.Content.ReadAsStringAsync();

        Assert.True(response.Headers.TransferEncodingChunked);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("{\"success\":true,\"data\":\"" + new string('x', 100_000) + "\"}", body);
        Assert.Equal(1, _api.Attempts);
    }

    [Fact]
    public async Task With_retries_turned_off_a_refusal_is_returned_at_once()
    {
        var account = await _server.NewAccountAsync();
        var tokens = TokenClients.CreateProvider(Clients.Http(), _server.Options(account));
        var http = Clients.Http(handlers: TokenClients.CreateHandler(tokens, new TokenHandlerOptions { RetryWhenRejected = false }));
        http.BaseAddress = _api.BaseAddress;

        var response = await http.GetAsync("data?reject=always");

        Assert.Contains("Invalid token", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(1, _api.Attempts);
        Assert.Equal(1, Gets);
    }

    [Fact]
    public async Task A_relative_uri_without_a_base_address_is_refused_clearly()
    {
        var (_, tokens) = await ClientAsync();
        using var invoker = new HttpMessageInvoker(TokenClients.CreateHandler(tokens));
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("data", UriKind.Relative));

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => invoker.SendAsync(request, CancellationToken.None));

        Assert.Contains("absolute", refused.Message, StringComparison.Ordinal);
    }

    /// <summary>An outer handler that sends each request twice, as a resilience handler's retry does.</summary>
    private sealed class SendTwiceHandler : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            (await base.SendAsync(request, cancellationToken)).Dispose();
            return await base.SendAsync(request, cancellationToken);
        }
    }

    private sealed class NonSeekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
