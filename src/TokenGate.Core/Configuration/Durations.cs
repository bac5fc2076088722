using System.Globalization;

namespace TokenGate.Configuration;

/// <summary>
/// The one duration grammar of every TokenGate setting (server, CLI and the authentication handler): seconds (<c>43200</c>,
/// <c>2.5</c>), a whole number with a unit (<c>250ms</c>, <c>90s</c>, <c>15m</c>, <c>12h</c>, <c>7d</c>), or a .NET time span
/// (<c>00:00:30</c>, <c>7.00:00:00</c>). Never negative.
/// </summary>
public static class Durations
{
    /// <summary>The grammar in a few words, for messages that refuse a value.</summary>
    public const string Examples = "use seconds (3600) or a unit (90s, 15m, 12h, 7d)";

    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var value = text.Trim();
        if (decimal.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds))
        {
            return TryFromTicks(seconds * TimeSpan.TicksPerSecond, out duration);
        }

        if (value.EndsWith("ms", StringComparison.OrdinalIgnoreCase)
            && long.TryParse(value.AsSpan(0, value.Length - 2), NumberStyles.None, CultureInfo.InvariantCulture, out var milliseconds))
        {
            return TryFromTicks((decimal)milliseconds * TimeSpan.TicksPerMillisecond, out duration);
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
            return multiplier != 0 && TryFromTicks((decimal)amount * multiplier * TimeSpan.TicksPerSecond, out duration);
        }

        return value.Contains(':', StringComparison.Ordinal)
            && TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out duration)
            && duration >= TimeSpan.Zero;
    }

    /// <summary>Formats a duration the way <see cref="TryParse"/> reads it, in the largest unit that divides it.</summary>
    public static string Format(TimeSpan duration)
    {
        if (duration.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            return $"{(long)duration.TotalMilliseconds}ms";
        }

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

    /// <summary>A duration in words for range messages (<c>0</c>, <c>1 second</c>, <c>366 days</c>).</summary>
    public static string Describe(TimeSpan duration)
    {
        if (duration == TimeSpan.Zero)
        {
            return "0";
        }

        var text = Format(duration);
        var (amount, unit) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], "millisecond")
            : (text[..^1], text[^1] switch { 'd' => "day", 'h' => "hour", 'm' => "minute", _ => "second" });
        return amount == "1" ? $"1 {unit}" : $"{amount} {unit}s";
    }

    private static bool TryFromTicks(decimal ticks, out TimeSpan duration)
    {
        duration = default;
        if (ticks > TimeSpan.MaxValue.Ticks)
        {
            return false;
        }

        duration = TimeSpan.FromTicks((long)ticks);
        return true;
    }
}
