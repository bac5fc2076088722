using System.Globalization;

namespace TokenGate.Server.Configuration;

/// <summary>
/// One setting of <c>tokengate serve</c>, defined once: its configuration key, the <c>TOKENGATE_*</c> variable (derived from the
/// key the way <see cref="TokenGateConfiguration.AddTokenGateEnvironmentVariables"/> reads it back), its command-line option,
/// its help and its range. Binding, range checks, the CLI's options and help, and every error message are made from it, so
/// that a setting is never spelled twice.
/// </summary>
public abstract class TokenGateSetting
{
    protected TokenGateSetting(string key)
    {
        Key = key;
        EnvironmentVariable = TokenGateConfiguration.EnvironmentPrefix + string.Concat(
            key.Select((c, i) => i > 0 && char.IsAsciiLetterUpper(c) ? "_" + c : char.ToUpperInvariant(c).ToString()));
    }

    /// <summary>The key in the <c>TokenGate</c> section, e.g. <c>TokenLifetime</c>.</summary>
    public string Key { get; }

    /// <summary>The full configuration key, e.g. <c>TokenGate:TokenLifetime</c>: what a command-line option sets.</summary>
    public string Path => $"{TokenGateConfiguration.SectionName}:{Key}";

    /// <summary>E.g. <c>TOKENGATE_TOKEN_LIFETIME</c>.</summary>
    public string EnvironmentVariable { get; }

    /// <summary>The <c>serve</c> option, e.g. <c>--token-lifetime</c>; null for settings given only by file or environment.</summary>
    public string? Option { get; init; }

    /// <summary>The option's value placeholder in help, e.g. <c>SECONDS</c>.</summary>
    public string? HelpName { get; init; }

    /// <summary>What the setting does, in one sentence without a full stop; help adds the default and the variable.</summary>
    public string Help { get; init; } = string.Empty;

    /// <summary>Help's words for a default that is not a plain value (e.g. "beside the database").</summary>
    public string? DefaultHelp { get; init; }

    /// <summary>Whether the value is a secret: <c>config show</c> never prints it.</summary>
    public bool Secret { get; init; }

    /// <summary>The default as help and <c>config show</c> word it; null when there is none.</summary>
    public string? DefaultText => DefaultHelp ?? FormatDefault();

    /// <summary>Whether the option is a switch without a value.</summary>
    public abstract bool IsFlag { get; }

    /// <summary>Whether the option may be repeated (and the variable is comma-separated).</summary>
    public abstract bool IsList { get; }

    /// <summary>The name an operator used or should use: the option, else the variable.</summary>
    public string Name => Option ?? EnvironmentVariable;

    /// <summary>The option's help: what it does, its default and its variable.</summary>
    public string Description
    {
        get
        {
            var variable = IsList ? $"{EnvironmentVariable}, comma-separated" : EnvironmentVariable;
            var defaultText = IsFlag ? null : DefaultText;
            return string.IsNullOrEmpty(defaultText) ? $"{Help} (also {variable})." : $"{Help} (default {defaultText}; also {variable}).";
        }
    }

    /// <summary>A problem with this setting's value, naming where it came from.</summary>
    public string Error(string problem) => $"{Name} ({Path}): {problem}";

    protected abstract string? FormatDefault();
}

/// <summary>A setting of the options class <typeparamref name="TOptions"/>.</summary>
public abstract class TokenGateSetting<TOptions>(string key) : TokenGateSetting(key)
    where TOptions : new()
{
    /// <summary>Sets the value from configuration when one is given; a value that cannot be read is an error and leaves the default.</summary>
    public abstract void Bind(IConfiguration section, TOptions options, ICollection<string> errors);

    /// <summary>Reports a value outside the setting's range.</summary>
    public abstract void Validate(TOptions options, ICollection<string> errors);
}

/// <summary>A setting with one value, read with <paramref name="grammar"/>, optionally within [<see cref="Minimum"/>, <see cref="Maximum"/>].</summary>
public sealed class ScalarSetting<TOptions, TValue>(string key, ValueGrammar<TValue> grammar, Func<TOptions, TValue> get, Action<TOptions, TValue> set)
    : TokenGateSetting<TOptions>(key)
    where TOptions : new()
{
    private readonly TValue? _minimum;
    private readonly TValue? _maximum;
    private readonly bool _hasMinimum;
    private readonly bool _hasMaximum;

    public TValue? Minimum { get => _minimum; init => (_minimum, _hasMinimum) = (value, true); }

    public TValue? Maximum { get => _maximum; init => (_maximum, _hasMaximum) = (value, true); }

    /// <summary>Takes the value as given, spaces and emptiness included (a password).</summary>
    public bool Verbatim { get; init; }

    /// <summary>How help shows the default, when not as the grammar formats it (a lifetime in seconds).</summary>
    public Func<TValue, string>? HelpFormat { get; init; }

    public override bool IsFlag => typeof(TValue) == typeof(bool);

    public override bool IsList => false;

    public override void Bind(IConfiguration section, TOptions options, ICollection<string> errors)
    {
        var text = section[Key];
        if (text is null && section.GetSection(Key).GetChildren().Any())
        {
            // A JSON array or object where one value belongs: the framework would ignore it without a word.
            errors.Add(Error("is a list or an object; give one value."));
            return;
        }

        if (text is null || (!Verbatim && string.IsNullOrWhiteSpace(text)))
        {
            return;
        }

        if (grammar.TryParse(Verbatim ? text : text.Trim(), out var value))
        {
            set(options, value);
        }
        else
        {
            errors.Add(Error($"'{text}' {grammar.Refusal}."));
        }
    }

    public override void Validate(TOptions options, ICollection<string> errors)
    {
        var value = get(options);
        if ((_hasMinimum && Comparer<TValue>.Default.Compare(value, _minimum!) < 0) || (_hasMaximum && Comparer<TValue>.Default.Compare(value, _maximum!) > 0))
        {
            var range = (_hasMinimum, _hasMaximum) switch
            {
                (true, true) => $"{grammar.Describe(_minimum!)} to {grammar.Describe(_maximum!)}",
                (true, false) => $"at least {grammar.Describe(_minimum!)}",
                _ => $"at most {grammar.Describe(_maximum!)}",
            };
            errors.Add(Error($"{grammar.Format(value)} is out of range; use {range}."));
        }
    }

    protected override string? FormatDefault()
    {
        var value = get(new TOptions());
        return value is null ? null : HelpFormat?.Invoke(value) ?? grammar.Format(value);
    }
}

/// <summary>
/// A list setting: a comma-separated value under <see cref="TokenGateSetting.Key"/> and/or an array under
/// <paramref name="arrayKey"/> (appsettings.json's natural form), each entry read with <paramref name="grammar"/>.
/// </summary>
public sealed class ListSetting<TOptions, TElement>(string key, string arrayKey, ValueGrammar<TElement> grammar, Action<TOptions, IReadOnlyList<TElement>> set)
    : TokenGateSetting<TOptions>(key), IListSetting
    where TOptions : new()
{
    public string ArrayKey { get; } = arrayKey;

    public override bool IsFlag => false;

    public override bool IsList => true;

    public override void Bind(IConfiguration section, TOptions options, ICollection<string> errors)
    {
        var values = new List<TElement>();
        var entries = new List<string>();
        foreach (var key in new[] { Key, ArrayKey })
        {
            // Either spelling, as a comma-separated value or as a JSON array (keys 0, 1, ...) of single values.
            var children = section.GetSection(key).GetChildren().ToList();
            if (children.Any(child => !int.TryParse(child.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _) || child.Value is null))
            {
                errors.Add(Error($"{section.GetSection(key).Path} is not a list of values; give an array of strings, e.g. [\"10.0.0.0/8\"], or one comma-separated string."));
                continue;
            }

            entries.AddRange(TokenGate.Configuration.Networks.Entries(section[key], children.Select(child => child.Value)));
        }

        foreach (var entry in entries)
        {
            if (grammar.TryParse(entry, out var value))
            {
                values.Add(value);
            }
            else
            {
                errors.Add(Error($"'{entry}' {grammar.Refusal}."));
            }
        }

        set(options, values);
    }

    public override void Validate(TOptions options, ICollection<string> errors)
    {
    }

    protected override string? FormatDefault() => null;
}

/// <summary>A list setting, whatever its options class: its values may also come as an array under <see cref="ArrayKey"/>.</summary>
public interface IListSetting
{
    /// <summary>The key of the array spelling, e.g. <c>TrustedProxies</c>.</summary>
    string ArrayKey { get; }
}

/// <summary>How a kind of value is written: read, refused, shown as a value, and described in a range.</summary>
public sealed class ValueGrammar<T>(TryParse<T> parse, string refusal, Func<T, string>? format = null, Func<T, string>? describe = null)
{
    /// <summary>What follows the quoted text when it cannot be read, e.g. <c>is not a duration; ...</c>.</summary>
    public string Refusal { get; } = refusal;

    public bool TryParse(string text, out T value) => parse(text, out value);

    public string Format(T value) => format?.Invoke(value) ?? Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty;

    public string Describe(T value) => describe?.Invoke(value) ?? Format(value);
}

public delegate bool TryParse<T>(string text, out T value);
