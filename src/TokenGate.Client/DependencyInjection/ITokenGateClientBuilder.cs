using Microsoft.Extensions.DependencyInjection;

namespace TokenGate.Client;

/// <summary>Configures one token client registered by <c>AddTokenGateClient</c>.</summary>
public interface ITokenGateClientBuilder
{
    /// <summary>The token client's name (empty for the unnamed one); the key of its keyed services.</summary>
    string Name { get; }

    /// <summary>The service collection.</summary>
    IServiceCollection Services { get; }

    /// <summary>
    /// The <see cref="HttpClient"/> that calls the token API, to set a timeout, a proxy, a primary handler or resilience on it.
    /// </summary>
    IHttpClientBuilder TokenApiHttpClient { get; }
}
