using System.Diagnostics;
using TokenGate.Testing;

namespace TokenGate.Reliability.Tests;

/// <summary>
/// What one token.php call got back: the status (0 when no complete response came: refused, reset, cut short or timed out),
/// the body, the body parsed strictly as a contract body (null with <see cref="Failure"/> set when it is not one), how long it took.
/// </summary>
public sealed record Answer(int Status, string Body, ContractBody? Contract, TimeSpan Took, string? Failure, string? RetryAfter)
{
    public bool Responded => Status != 0;

    /// <summary>What the issue calls acknowledged: a complete HTTP 200 response with <c>success</c> true.</summary>
    public bool Acknowledged => Status == 200 && Contract is { Success: true };

    /// <summary>A deliberate 503: the contract body <c>Service unavailable</c> and <c>Retry-After: 1</c>.</summary>
    public bool IsServiceUnavailable => Status == 503 && Contract is { Success: false, Error: "Service unavailable" } && RetryAfter == "1";

    public override string ToString() => Responded ? $"HTTP {Status} {Body} ({Figures.Milliseconds(Took)})" : $"no response: {Failure} ({Figures.Milliseconds(Took)})";
}

/// <summary>token.php calls as a ContactNow client makes them: <c>get</c> as a POST form (credentials in the body), the others as GET.</summary>
public static class TokenCalls
{
    public static Task<Answer> GetAsync(HttpClient http, Uri baseAddress, string username, string password, string? address, string format = "json", CancellationToken cancellationToken = default)
    {
        var fields = new List<KeyValuePair<string, string>> { new("action", "get"), new("username", username), new("password", password) };
        if (address is not null)
        {
            fields.Add(new("address", address));
        }

        if (format != "json")
        {
            fields.Add(new("format", format));
        }

        return SendAsync(http, new HttpRequestMessage(HttpMethod.Post, new Uri(baseAddress, "token.php")) { Content = new FormUrlEncodedContent(fields) }, cancellationToken);
    }

    public static Task<Answer> ValidateAsync(HttpClient http, Uri baseAddress, string token, string format = "json", CancellationToken cancellationToken = default) =>
        SendAsync(http, new HttpRequestMessage(HttpMethod.Get, new Uri(baseAddress, $"token.php?action=validate&token={token}{(format == "json" ? string.Empty : "&format=" + format)}")), cancellationToken);

    public static Task<Answer> DeleteAsync(HttpClient http, Uri baseAddress, string token, CancellationToken cancellationToken = default) =>
        SendAsync(http, new HttpRequestMessage(HttpMethod.Get, new Uri(baseAddress, $"token.php?action=delete&token={token}")), cancellationToken);

    public static async Task<Answer> SendAsync(HttpClient http, HttpRequestMessage request, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            using (request)
            {
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                var took = clock.Elapsed;
                var xml = response.Content.Headers.ContentType?.MediaType == "application/xml";
                var retryAfter = response.Headers.TryGetValues("Retry-After", out var values) ? string.Join(",", values) : null;
                var (contract, failure) = Parse(body, xml);
                return new Answer((int)response.StatusCode, body, contract, took, failure, retryAfter);
            }
        }
        catch (Exception exception) when (exception is HttpRequestException or IOException)
        {
            return new Answer(0, string.Empty, null, clock.Elapsed, exception.GetBaseException().Message, null);
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new Answer(0, string.Empty, null, clock.Elapsed, $"no answer within {http.Timeout.TotalSeconds:F0} s", null);
        }
    }

    /// <summary>The body as a contract body, or why it is not one.</summary>
    public static (ContractBody? Contract, string? Failure) Parse(string body, bool xml)
    {
        try
        {
            return (ContractBody.Parse(body, xml ? "xml" : "json"), null);
        }
#pragma warning disable CA1031 // Any failure to parse (JSON, XML or a contract assertion) is the finding, reported with the body.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            return (null, $"not a contract body ({exception.GetType().Name}: {exception.Message.Split('\n')[0]})");
        }
    }
}
