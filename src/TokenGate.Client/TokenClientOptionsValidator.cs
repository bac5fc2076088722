using Microsoft.Extensions.Options;

namespace TokenGate.Client;

/// <summary>Refuses options that cannot work, with a message that names the setting, before the first request is made.</summary>
internal sealed class TokenClientOptionsValidator : IValidateOptions<TokenClientOptions>
{
    /// <summary>The API binds a token to at most this many addresses.</summary>
    internal const int MaxAddresses = 10;

    public ValidateOptionsResult Validate(string? name, TokenClientOptions options)
    {
        var failures = Problems(options).ToList();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Throws <see cref="OptionsValidationException"/> when the options cannot work.</summary>
    public static void ThrowIfInvalid(string name, TokenClientOptions options, bool needsCredentials)
    {
        var failures = Problems(options).ToList();
        if (needsCredentials)
        {
            failures.AddRange(CredentialProblems(options));
        }

        if (failures.Count > 0)
        {
            throw new OptionsValidationException(name, typeof(TokenClientOptions), failures);
        }
    }

    /// <summary>What keeps a token provider from getting tokens: it needs an account.</summary>
    public static IEnumerable<string> CredentialProblems(TokenClientOptions options)
    {
        if (string.IsNullOrEmpty(options.Username))
        {
            yield return "TokenClientOptions.Username is required to get tokens.";
        }

        if (string.IsNullOrEmpty(options.Password))
        {
            yield return "TokenClientOptions.Password is required to get tokens.";
        }
    }

    private static IEnumerable<string> Problems(TokenClientOptions options)
    {
        if (options.Endpoint is null)
        {
            yield return "TokenClientOptions.Endpoint is required: the token API's URL, e.g. https://api-106.dxi.eu/token.php.";
        }
        else if (!options.Endpoint.IsAbsoluteUri || (options.Endpoint.Scheme != Uri.UriSchemeHttps && options.Endpoint.Scheme != Uri.UriSchemeHttp))
        {
            yield return "TokenClientOptions.Endpoint must be an absolute http or https URL.";
        }

        if (options.RenewalMargin < TimeSpan.Zero)
        {
            yield return "TokenClientOptions.RenewalMargin cannot be negative.";
        }

        if (options.RenewalJitter < TimeSpan.Zero)
        {
            yield return "TokenClientOptions.RenewalJitter cannot be negative.";
        }

        if (options.Addresses.Count(a => !string.IsNullOrWhiteSpace(a)) > MaxAddresses)
        {
            yield return $"TokenClientOptions.Addresses holds more than the API's {MaxAddresses} addresses.";
        }

        if (options.Addresses.Any(a => a is not null && a.Contains(',', StringComparison.Ordinal)))
        {
            yield return "TokenClientOptions.Addresses takes one address per entry (no commas).";
        }
    }
}
