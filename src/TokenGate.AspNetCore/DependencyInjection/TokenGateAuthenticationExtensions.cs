using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using TokenGate.AspNetCore;
using TokenGate.AspNetCore.Validation;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Adds the TokenGate authentication scheme. Every overload ends in
/// <see cref="AddTokenGate(AuthenticationBuilder, string, string?, Action{TokenGateOptions})"/>. Options are bound first from
/// <c>Authentication:Schemes:{scheme}</c> in configuration, then from <c>configure</c>; they are checked when the host starts.
/// </summary>
public static class TokenGateAuthenticationExtensions
{
    /// <summary>Adds TokenGate authentication under <see cref="TokenGateDefaults.AuthenticationScheme"/>.</summary>
    public static AuthenticationBuilder AddTokenGate(this AuthenticationBuilder builder) =>
        builder.AddTokenGate(TokenGateDefaults.AuthenticationScheme, displayName: null, _ => { });

    /// <summary>Adds TokenGate authentication under <see cref="TokenGateDefaults.AuthenticationScheme"/>.</summary>
    /// <param name="builder">The authentication builder.</param>
    /// <param name="configure">Sets options beyond (and over) those bound from configuration.</param>
    public static AuthenticationBuilder AddTokenGate(this AuthenticationBuilder builder, Action<TokenGateOptions> configure) =>
        builder.AddTokenGate(TokenGateDefaults.AuthenticationScheme, displayName: null, configure);

    /// <summary>Adds TokenGate authentication under a scheme of its own name.</summary>
    /// <param name="builder">The authentication builder.</param>
    /// <param name="authenticationScheme">The scheme name; its configuration section is <c>Authentication:Schemes:{name}</c>.</param>
    public static AuthenticationBuilder AddTokenGate(this AuthenticationBuilder builder, string authenticationScheme) =>
        builder.AddTokenGate(authenticationScheme, displayName: null, _ => { });

    /// <summary>Adds TokenGate authentication under a scheme of its own name.</summary>
    /// <param name="builder">The authentication builder.</param>
    /// <param name="authenticationScheme">The scheme name; its configuration section is <c>Authentication:Schemes:{name}</c>.</param>
    /// <param name="configure">Sets options beyond (and over) those bound from configuration.</param>
    public static AuthenticationBuilder AddTokenGate(this AuthenticationBuilder builder, string authenticationScheme, Action<TokenGateOptions> configure) =>
        builder.AddTokenGate(authenticationScheme, displayName: null, configure);

    /// <summary>Adds TokenGate authentication: the overload the others call.</summary>
    /// <param name="builder">The authentication builder.</param>
    /// <param name="authenticationScheme">The scheme name; its configuration section is <c>Authentication:Schemes:{name}</c>.</param>
    /// <param name="displayName">The scheme's display name.</param>
    /// <param name="configure">Sets options beyond (and over) those bound from configuration.</param>
    public static AuthenticationBuilder AddTokenGate(this AuthenticationBuilder builder, string authenticationScheme, string? displayName, Action<TokenGateOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(authenticationScheme);
        ArgumentNullException.ThrowIfNull(configure);

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<TokenGateOptions>, TokenGateConfigureOptions>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TokenGateOptions>, TokenGateOptionsValidator>());
        builder.Services.TryAddSingleton<TokenVerifiers>();
        builder.Services.AddHttpClient(TokenGateDefaults.BackchannelHttpClientName);
        builder.Services.AddOptions<TokenGateOptions>(authenticationScheme).ValidateOnStart();
        return builder.AddScheme<TokenGateOptions, TokenGateHandler>(authenticationScheme, displayName, configure);
    }
}
