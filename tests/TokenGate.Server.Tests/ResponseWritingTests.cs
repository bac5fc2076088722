using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using TokenGate.Server.Hosting;
using TokenGate.Testing;

namespace TokenGate.Server.Tests;

/// <summary>
/// The contract body is rendered into one buffer per thread and committed with the response's headers before any await
/// (<c>TokenEndpoint.WriteAsync</c>). Should something in front of the endpoint make the response's start asynchronous (an
/// <c>OnStarting</c> callback that awaits), the thread may render the next request's body before this one is written: each
/// answer must still be its own.
/// </summary>
public sealed class ResponseWritingTests
{
    private static readonly string[] Requests =
    [
        "token.php?action=validate&token=nothing",
        "token.php?action=validate&token=nothing&format=xml",
        "token.php?action=frobnicate",
        "token.php?action=frobnicate&format=xml",
        "token.php?action=get&username=nobody&password=wrong&format=xml",
        "no-such-page",
        "token.php?action=validate&token=0123456789abcdef0123456789abcdef01234567",
        "token.php?action=validate",
    ];

    [Fact]
    public async Task Answers_whose_start_waits_on_an_asynchronous_callback_each_carry_their_own_body()
    {
        await using var reference = await TokenGateTestServer.StartAsync();
        await using var server = await TokenGateTestServer.StartAsync(customize: services => services.AddSingleton<ITokenGateExtension>(new SlowStart()));
        using var referenceHttp = reference.CreateClient();
        var expected = new Dictionary<string, (int Status, string Body)>();
        foreach (var request in Requests)
        {
            using var response = await referenceHttp.GetAsync(request, TestContext.Current.CancellationToken);
            expected[request] = ((int)response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        }

        // JSON and XML, refusals of three kinds and the contract's 404: six different bodies (and their lengths).
        Assert.Equal(6, expected.Values.Select(answer => answer.Body).Distinct().Count());

        // 400 requests, 64 at a time over a few connections each, every kind of body in flight at once.
        using var http = server.CreateClient();
        var answers = await Task.WhenAll(Enumerable.Range(0, 400).Select(async i =>
        {
            var request = Requests[i % Requests.Length];
            using var response = await http.GetAsync(request, TestContext.Current.CancellationToken);
            return (Request: request, Status: (int)response.StatusCode, Body: await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken),
                Started: response.Headers.Contains(SlowStart.Header));
        }));

        Assert.All(answers, answer =>
        {
            Assert.True(answer.Started, answer.Request);
            Assert.Equal(expected[answer.Request], (answer.Status, answer.Body));
        });
    }

    /// <summary>Adds, in front of every endpoint, an <c>OnStarting</c> callback that yields before it sets a header.</summary>
    private sealed class SlowStart : ITokenGateExtension
    {
        public const string Header = "X-Slow-Start";

        public void AddServices(WebApplicationBuilder builder, TokenGateSettings settings)
        {
        }

        public void Map(WebApplication app, TokenGateSettings settings) =>
            app.Use((context, next) =>
            {
                context.Response.OnStarting(async () =>
                {
                    await Task.Delay(Random.Shared.Next(0, 3));
                    context.Response.Headers[Header] = "1";
                });
                return next(context);
            });
    }
}
