using Microsoft.AspNetCore.Builder;
using TokenGate.Contract;

namespace TokenGate.Server.Api;

/// <summary>
/// Refusals made before any endpoint sees a request (issue 25, item 8):
/// <list type="bullet">
/// <item>a connection that carried a <c>Content-Length</c> that is not all digits (<see cref="ContentLengthScreen"/>): 400 with
/// the contract body before the body is read, and the connection is closed, since where its next request starts is not known;</item>
/// <item>a method other than GET or HEAD on the probes <c>/healthz</c> and <c>/readyz</c> (TRACE included): 405 with
/// <c>Allow: GET, HEAD</c>.</item>
/// </list>
/// </summary>
public static class RequestGuards
{
    private const string ProbeMethods = "GET, HEAD";

    public static IApplicationBuilder UseRequestGuards(this IApplicationBuilder app) =>
        app.Use(static (context, next) =>
        {
            var request = context.Request;
            if (ContentLengthScreen.SawMalformedContentLength(context))
            {
                if (HttpProtocol.IsHttp11(request.Protocol) || HttpProtocol.IsHttp10(request.Protocol))
                {
                    context.Response.Headers.Connection = "close";
                }

                return TokenEndpoint.WriteAsync(context, ContractResponse.Failure(ContractErrors.BadRequest, StatusCodes.Status400BadRequest));
            }

            if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method) && IsProbe(request.Path))
            {
                context.Response.Headers.Allow = ProbeMethods;
                return TokenEndpoint.WriteAsync(context, ContractResponse.Failure(ContractErrors.MethodNotAllowed, StatusCodes.Status405MethodNotAllowed));
            }

            return next(context);
        });

    /// <summary>The paths routing sends to the health checks: matched as routing matches them, ignoring case and a final slash.</summary>
    private static bool IsProbe(PathString path) =>
        path.Value?.TrimEnd('/') is { } trimmed
        && (string.Equals(trimmed, "/healthz", StringComparison.OrdinalIgnoreCase) || string.Equals(trimmed, "/readyz", StringComparison.OrdinalIgnoreCase));
}
