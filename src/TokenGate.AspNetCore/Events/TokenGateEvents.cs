namespace TokenGate.AspNetCore;

/// <summary>
/// The points where an application can step into TokenGate authentication. Set the <c>On...</c> delegates, or derive from this
/// class and override the methods (then name the type in <see cref="Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions.EventsType"/>).
/// </summary>
public class TokenGateEvents
{
    /// <summary>Invoked first, before the token is looked for: may supply the token from elsewhere, or decide the result.</summary>
    public Func<MessageReceivedContext, Task> OnMessageReceived { get; set; } = _ => Task.CompletedTask;

    /// <summary>Invoked when the token is valid and bound to the caller's address: may add claims, or still refuse.</summary>
    public Func<TokenValidatedContext, Task> OnTokenValidated { get; set; } = _ => Task.CompletedTask;

    /// <summary>Invoked when the token is refused or cannot be checked: may replace the failure with another result.</summary>
    public Func<AuthenticationFailedContext, Task> OnAuthenticationFailed { get; set; } = _ => Task.CompletedTask;

    /// <summary>Invoked before the challenge is written: may change the error, or write the response itself.</summary>
    public Func<TokenGateChallengeContext, Task> OnChallenge { get; set; } = _ => Task.CompletedTask;

    public virtual Task MessageReceived(MessageReceivedContext context) => OnMessageReceived(context);

    public virtual Task TokenValidated(TokenValidatedContext context) => OnTokenValidated(context);

    public virtual Task AuthenticationFailed(AuthenticationFailedContext context) => OnAuthenticationFailed(context);

    public virtual Task Challenge(TokenGateChallengeContext context) => OnChallenge(context);
}
