using Microsoft.Extensions.Options;

namespace TokenGate.Server.Configuration;

/// <summary>
/// Checks a feature's options: every range in its table, then what only the feature knows (<paramref name="check"/>, e.g. that a
/// maximum is not below a minimum). Every problem is reported, not the first.
/// </summary>
public sealed class SettingsValidator<TOptions>(FeatureTable<TOptions> table, Action<TOptions, ICollection<string>>? check = null) : IValidateOptions<TOptions>
    where TOptions : class, new()
{
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        var errors = new List<string>();
        table.Validate(options, errors);
        check?.Invoke(options, errors);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
