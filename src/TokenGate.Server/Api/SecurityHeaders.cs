using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Primitives;

namespace TokenGate.Server.Api;

/// <summary>
/// <c>X-Content-Type-Options: nosniff</c> and <c>Referrer-Policy: no-referrer</c> on every response TokenGate writes (OWASP ASVS
/// V14.4.4, V14.4.5). Set before the next middleware runs (an <c>OnStarting</c> callback per request costs more on the hot path);
/// the exception handler, which clears a failed request's headers before it writes its error body, sets them again
/// (<see cref="Apply"/>). Responses Kestrel writes itself, before any middleware runs, cannot carry them (docs/DECISIONS.md).
/// </summary>
public static class SecurityHeaders
{
    public const string ReferrerPolicyName = "Referrer-Policy";

    private static readonly StringValues NoSniff = "nosniff";
    private static readonly StringValues NoReferrer = "no-referrer";

    public static void Apply(HttpResponse response)
    {
        var headers = response.Headers;
        headers.XContentTypeOptions = NoSniff;
        headers[ReferrerPolicyName] = NoReferrer;
    }

    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) =>
        app.Use(static (context, next) =>
        {
            Apply(context.Response);
            return next(context);
        });
}
