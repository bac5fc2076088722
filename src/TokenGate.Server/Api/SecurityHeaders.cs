using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Primitives;

namespace TokenGate.Server.Api;

/// <summary>
/// <c>X-Content-Type-Options: nosniff</c> and <c>Referrer-Policy: no-referrer</c> on every response TokenGate writes (OWASP ASVS
/// V14.4.4, V14.4.5). Set as the response starts rather than before the next middleware: the exception handler clears the headers
/// of a failed request before it writes its error body. Responses Kestrel writes itself, before any middleware runs, cannot carry
/// them (docs/DECISIONS.md).
/// </summary>
public static class SecurityHeaders
{
    public const string ReferrerPolicyName = "Referrer-Policy";

    private static readonly StringValues NoSniff = "nosniff";
    private static readonly StringValues NoReferrer = "no-referrer";

    private static readonly Func<object, Task> AddHeaders = static state =>
    {
        var headers = ((HttpResponse)state).Headers;
        headers.XContentTypeOptions = NoSniff;
        headers[ReferrerPolicyName] = NoReferrer;
        return Task.CompletedTask;
    };

    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) =>
        app.Use(static (context, next) =>
        {
            context.Response.OnStarting(AddHeaders, context.Response);
            return next(context);
        });
}
