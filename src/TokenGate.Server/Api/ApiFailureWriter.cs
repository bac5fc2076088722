namespace TokenGate.Server.Api;

/// <summary>
/// Endpoint metadata naming how an API area answers a failure that escaped its endpoint (an exception): each area in its own
/// error format. Endpoints without it get a <c>token.php</c> contract body.
/// </summary>
public sealed class ApiFailureWriter(Func<HttpContext, Exception?, Task> write)
{
    public Task WriteAsync(HttpContext context, Exception? exception) => write(context, exception);
}
