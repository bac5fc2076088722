using System.Collections;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration.Memory;

namespace TokenGate.Server.Hosting;

public static partial class TokenGateConfiguration
{
    public const string SectionName = "TokenGate";
    public const string EnvironmentPrefix = "TOKENGATE_";

    /// <summary>
    /// Adds <c>TOKENGATE_</c>-prefixed environment variables as keys of the <c>TokenGate</c> section, underscores dropped:
    /// <c>TOKENGATE_TOKEN_LIFETIME</c> sets <c>TokenGate:TokenLifetime</c> (configuration keys ignore case).
    /// </summary>
    public static IConfigurationBuilder AddTokenGateEnvironmentVariables(this IConfigurationBuilder builder, IDictionary? environment = null)
    {
        var source = new TokenGateEnvironmentSource();
        foreach (DictionaryEntry entry in environment ?? Environment.GetEnvironmentVariables())
        {
            var name = (string)entry.Key;
            if (name.Length > EnvironmentPrefix.Length && name.StartsWith(EnvironmentPrefix, StringComparison.OrdinalIgnoreCase))
            {
                var key = name[EnvironmentPrefix.Length..].Replace("_", string.Empty, StringComparison.Ordinal);
                source.Values[$"{SectionName}:{key}"] = (string?)entry.Value;
                source.Variables[key] = name;
            }
        }

        builder.Add(source);
        return builder;
    }

    /// <summary>
    /// Runs <paramref name="read"/>, which loads configuration files (appsettings.json), and turns a file that cannot be read or
    /// parsed into a <see cref="TokenGateConfigurationException"/> naming the file, the place and the fix, instead of the
    /// framework's exception with its stack trace.
    /// </summary>
    public static T ReadingFiles<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (InvalidDataException exception)
        {
            throw new TokenGateConfigurationException([DescribeFileFailure(exception)], exception);
        }
        catch (Exception exception) when (exception is UnauthorizedAccessException or IOException)
        {
            throw new TokenGateConfigurationException([$"cannot read a configuration file: {exception.Message.TrimEnd('.')}; make it readable by this user, or remove it."], exception);
        }
    }

    private static string DescribeFileFailure(InvalidDataException exception)
    {
        var path = QuotedPath().Match(exception.Message) is { Success: true } match ? Path.GetFileName(match.Groups[1].Value) : "a configuration file";
        for (Exception? inner = exception; inner is not null; inner = inner.InnerException)
        {
            if (inner is JsonException { LineNumber: { } line, BytePositionInLine: { } position } json)
            {
                // The reader's positions count from zero; editors count from one.
                var message = JsonPosition().Replace(json.Message, string.Empty);
                return $"{path} line {line + 1}, byte {position + 1}: {message}";
            }
        }

        return $"{path} cannot be read: {(exception.InnerException ?? exception).Message.TrimEnd('.')}; fix it or remove it.";
    }

    [GeneratedRegex("'([^']+)'")]
    private static partial Regex QuotedPath();

    [GeneratedRegex(@"\s*(Path: \S+ \|\s*)?LineNumber: \d+ \| BytePositionInLine: \d+\.?$")]
    private static partial Regex JsonPosition();
}

/// <summary>The <c>TOKENGATE_*</c> variables as configuration keys, remembering each variable's spelling for messages.</summary>
public sealed class TokenGateEnvironmentSource : IConfigurationSource
{
    internal Dictionary<string, string?> Values { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The variable each key of the <c>TokenGate</c> section came from, e.g. <c>TokenLifetme</c> → <c>TOKENGATE_TOKEN_LIFETME</c>.</summary>
    public Dictionary<string, string> Variables { get; } = new(StringComparer.OrdinalIgnoreCase);

    public IConfigurationProvider Build(IConfigurationBuilder builder) => new TokenGateEnvironmentProvider(this);
}

public sealed class TokenGateEnvironmentProvider(TokenGateEnvironmentSource source)
    : MemoryConfigurationProvider(new MemoryConfigurationSource { InitialData = source.Values })
{
    public TokenGateEnvironmentSource Source { get; } = source;
}
