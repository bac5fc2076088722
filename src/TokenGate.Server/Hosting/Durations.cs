using System.Globalization;

namespace TokenGate.Server.Hosting;

/// <summary>Durations in configuration: whole seconds (<c>43200</c>), a number with a unit (<c>250ms</c>, <c>90s</c>, <c>15m</c>, <c>12h</c>,
/// <c>7d</c>), or a .NET time span (<c>7.00:00:00</c>).</summary>
public static class Durations
{
    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var value = text.Trim();
        if (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return TryFromSeconds(seconds, out duration);
        }

        if (value.EndsWith("ms", StringComparison.OrdinalIgnoreCase)
            && long.TryParse(value.AsSpan(0, value.Length - 2), NumberStyles.None, CultureInfo.InvariantCulture, out var milliseconds)
            && milliseconds <= (long)TimeSpan.MaxValue.TotalMilliseconds)
        {
            duration = TimeSpan.FromMilliseconds(milliseconds);
            return true;
        }

        var unit = value[^1];
        if (char.IsAsciiLetter(unit) && long.TryParse(value.AsSpan(0, value.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            var multiplier = char.ToLowerInvariant(unit) switch
            {
                's' => 1L,
                'm' => 60L,
                'h' => 3600L,
                'd' => 86400L,
                _ => 0L,
            };
            return multiplier != 0 && amount <= long.MaxValue / multiplier && TryFromSeconds(amount * multiplier, out duration);
        }

        return value.Contains(':', StringComparison.Ordinal)
            && TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out duration)
            && duration >= TimeSpan.Zero;
    }

    /// <summary>Formats a duration the way <see cref="TryParse"/> reads it, in the largest unit that divides it.</summary>
    public static string Format(TimeSpan duration)
    {
        var seconds = (long)duration.TotalSeconds;
        return seconds switch
        {
            0 => "0s",
            _ when seconds % 86400 == 0 => $"{seconds / 86400}d",
            _ when seconds % 3600 == 0 => $"{seconds / 3600}h",
            _ when seconds % 60 == 0 => $"{seconds / 60}m",
            _ => $"{seconds}s",
        };
    }

    private static bool TryFromSeconds(long seconds, out TimeSpan duration)
    {
        duration = default;
        if (seconds > (long)TimeSpan.MaxValue.TotalSeconds)
        {
            return false;
        }

        duration = TimeSpan.FromSeconds(seconds);
        return true;
    }
}
