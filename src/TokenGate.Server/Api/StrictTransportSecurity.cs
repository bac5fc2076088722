using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Primitives;

namespace TokenGate.Server.Api;

/// <summary>
/// <c>Strict-Transport-Security: max-age=N</c> on every response to a request that came over HTTPS (OWASP ASVS 5.0 3.4.1,
/// RFC 6797), never over plain HTTP (RFC 6797 §7.2). Not ASP.NET Core's <c>UseHsts</c>: it leaves out loopback hosts, where
/// TokenGate is often reached, and has no answer for error bodies written after the headers were cleared (set at response
/// start, as <see cref="SecurityHeaders"/> are). No <c>includeSubDomains</c>: TokenGate does not speak for the other hosts of
/// its domain.
/// </summary>
public static class StrictTransportSecurity
{
    public static IApplicationBuilder UseStrictTransportSecurity(this IApplicationBuilder app, TimeSpan maxAge)
    {
        StringValues value = "max-age=" + ((long)maxAge.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        Func<object, Task> addHeader = state =>
        {
            ((HttpResponse)state).Headers.StrictTransportSecurity = value;
            return Task.CompletedTask;
        };
        return app.Use((context, next) =>
        {
            if (context.Request.IsHttps)
            {
                context.Response.OnStarting(addHeader, context.Response);
            }

            return next(context);
        });
    }
}
