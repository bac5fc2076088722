using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TokenGate.Client;
using TokenGate.Client.Http;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the token to the requests of an <see cref="HttpClient"/> made by <see cref="IHttpClientFactory"/>.</summary>
public static class TokenGateHttpClientBuilderExtensions
{
    /// <summary>
    /// Attaches the token of a client registered with <c>AddTokenGateClient</c> to every request (a <c>token</c> query parameter
    /// by default), and renews it and retries once when the API says it is no longer good.
    /// </summary>
    /// <param name="builder">The HTTP client that calls the protected API.</param>
    /// <param name="configure">Sets <see cref="TokenHandlerOptions"/>: the token client's name, the token's placement.</param>
    public static IHttpClientBuilder AddTokenGateToken(this IHttpClientBuilder builder, Action<TokenHandlerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var optionsName = builder.Name;
        var options = builder.Services.AddOptions<TokenHandlerOptions>(optionsName);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return builder.AddHttpMessageHandler(provider =>
        {
            var handlerOptions = provider.GetRequiredService<IOptionsMonitor<TokenHandlerOptions>>().Get(optionsName);
            var tokens = provider.GetRequiredKeyedService<ITokenProvider>(handlerOptions.TokenClientName);
            return new TokenHandler(tokens, handlerOptions, provider.GetRequiredService<ILoggerFactory>().CreateLogger(LogCategories.Handler));
        });
    }

    /// <summary>As <see cref="AddTokenGateToken(IHttpClientBuilder, Action{TokenHandlerOptions}?)"/>, with the token of the named token client.</summary>
    /// <param name="builder">The HTTP client that calls the protected API.</param>
    /// <param name="tokenClientName">The name given to <c>AddTokenGateClient</c>.</param>
    /// <param name="configure">Sets the rest of <see cref="TokenHandlerOptions"/>.</param>
    public static IHttpClientBuilder AddTokenGateToken(this IHttpClientBuilder builder, string tokenClientName, Action<TokenHandlerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(tokenClientName);
        return builder.AddTokenGateToken(options =>
        {
            options.TokenClientName = tokenClientName;
            configure?.Invoke(options);
        });
    }
}
