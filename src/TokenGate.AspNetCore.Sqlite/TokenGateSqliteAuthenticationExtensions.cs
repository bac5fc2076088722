using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection.Extensions;
using TokenGate.AspNetCore;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Lets TokenGate schemes in local mode read the server's SQLite file named by <see cref="TokenGateOptions.Database"/>.</summary>
public static class TokenGateSqliteAuthenticationExtensions
{
    /// <summary>Registers the SQLite store opener for <see cref="TokenGateOptions.Database"/>; call it beside <c>AddTokenGate(...)</c>.</summary>
    /// <param name="builder">The authentication builder.</param>
    public static AuthenticationBuilder AddTokenGateSqlite(this AuthenticationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<ILocalTokenStoreFactory, SqliteLocalTokenStoreFactory>();
        return builder;
    }
}
