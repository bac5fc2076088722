using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TokenGate.Storage;

namespace TokenGate.AspNetCore;

/// <summary>
/// Checks each scheme's options when the host starts (<c>ValidateOnStart</c>), including what only DI can tell: a local scheme
/// without <see cref="TokenGateOptions.Database"/> needs a store registered, and one with it needs the SQLite package.
/// </summary>
internal sealed class TokenGateOptionsValidator(IServiceProviderIsService services) : IValidateOptions<TokenGateOptions>
{
    public ValidateOptionsResult Validate(string? name, TokenGateOptions options)
    {
        var errors = options.GetErrors().ToList();
        if (options.Mode == TokenGateMode.Local && string.IsNullOrWhiteSpace(options.Database)
            && !services.IsService(typeof(TokenValidator)) && !services.IsService(typeof(TokenService))
            && !services.IsService(typeof(ITokenLookupStore)) && !services.IsService(typeof(ITokenGateStore)))
        {
            errors.Add("Local mode needs Database (the TokenGate server's SQLite file) or an ITokenLookupStore registered in DI; for an API that runs elsewhere, set Mode to Remote with an Authority.");
        }
        else if (options.Mode == TokenGateMode.Local && !string.IsNullOrWhiteSpace(options.Database) && !services.IsService(typeof(ILocalTokenStoreFactory)))
        {
            errors.Add("Database needs the TokenGate.AspNetCore.Sqlite package: call AddTokenGateSqlite() after AddTokenGate().");
        }
        else if (options.Mode == TokenGateMode.Local && !string.IsNullOrWhiteSpace(options.Database) && MissingDatabase(options.Database) is { } missing)
        {
            errors.Add(missing);
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors.Select(error => $"TokenGate scheme '{name}': {error}"));
    }

    /// <summary>
    /// Local mode reads the server's file and never creates it: a path that names no file (a relative path taken from another
    /// working directory, a typo) would otherwise fail every request with 503, so it is refused when the host starts.
    /// </summary>
    private static string? MissingDatabase(string database)
    {
        var path = Path.GetFullPath(database);
        if (Directory.Exists(path))
        {
            return $"Database '{path}' is a directory; name the TokenGate server's database file (its --database), e.g. {Path.Combine(path, "tokengate.db")}.";
        }

        return File.Exists(path)
            ? null
            : $"Database: there is no TokenGate database at {path}; start the TokenGate server first (it creates the file), or set Database to the server's --database (a relative path is from the current directory, {Directory.GetCurrentDirectory()}).";
    }
}
