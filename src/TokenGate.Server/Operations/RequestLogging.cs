using System.Diagnostics;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.WebUtilities;

namespace TokenGate.Server.Operations;

/// <summary>
/// One log line per request (<c>--request-log</c>): method, path, the query string with every secret redacted, status, time and
/// client. <c>password</c>, <c>client_secret</c> and unknown values of <c>token</c> become <c>***</c>; a well-formed token becomes
/// its non-secret id (<c>id:0123456789abcdef</c>), so that an operator can follow one token through the log.
/// </summary>
public static partial class RequestLogging
{
    public const string Category = "TokenGate.Requests";

    private static readonly string[] Secret = ["password", "client_secret", "secret", "access_token"];

    public static IApplicationBuilder UseTokenGateRequestLog(this IApplicationBuilder app, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger(Category);
        return app.Use(async (context, next) =>
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await next(context);
            }
            finally
            {
                Completed(
                    logger,
                    context.Request.Method,
                    context.Request.Path.Value ?? "/",
                    Redact(context.Request.QueryString.Value),
                    context.Response.StatusCode,
                    Stopwatch.GetElapsedTime(started).TotalMilliseconds,
                    context.Connection.RemoteIpAddress?.ToString() ?? "-");
            }
        });
    }

    /// <summary>The query string with secrets replaced; names are kept so the shape of the request stays visible.</summary>
    public static string Redact(string? query)
    {
        if (string.IsNullOrEmpty(query))
        {
            return string.Empty;
        }

        var redacted = new StringBuilder("?");
        foreach (var pair in new QueryStringEnumerable(query))
        {
            if (redacted.Length > 1)
            {
                redacted.Append('&');
            }

            var name = pair.DecodeName().ToString();
            redacted.Append(Uri.EscapeDataString(name)).Append('=');
            var value = pair.DecodeValue();
            if (name.Equals("token", StringComparison.OrdinalIgnoreCase))
            {
                redacted.Append(TokenValue.IsWellFormed(value.Span) ? "id:" + TokenValue.IdOf(TokenValue.ComputeDigest(value.Span)) : "***");
            }
            else if (Secret.Any(secret => name.Equals(secret, StringComparison.OrdinalIgnoreCase)))
            {
                redacted.Append("***");
            }
            else
            {
                // Other values are kept, cut short: they are not secrets, but they are the caller's text.
                redacted.Append(Uri.EscapeDataString(value.Length > 64 ? value.Span[..64].ToString() + "…" : value.ToString()));
            }
        }

        return redacted.ToString();
    }

    [LoggerMessage(100, LogLevel.Information, "{Method} {Path}{Query} {StatusCode} in {ElapsedMilliseconds:0.0} ms from {Client}")]
    private static partial void Completed(ILogger logger, string method, string path, string query, int statusCode, double elapsedMilliseconds, string client);
}
