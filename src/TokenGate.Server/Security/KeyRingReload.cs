using System.Runtime.InteropServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TokenGate.Server.Configuration;
using TokenGate.Security;

namespace TokenGate.Server.Security;

/// <summary>
/// The sealing-key ring of a running server: loaded at start, checked against the live tokens of the store (a ring that lacks the
/// key of a live token is refused: at start with exit code 2, on reload by keeping the ring in use), and reloaded from the key
/// file on SIGHUP. There is no HTTP endpoint for keys.
/// </summary>
public static class KeyRing
{
    /// <summary>The ring <paramref name="settings"/> name: <c>TOKENGATE_SEALING_KEY</c> (base64 of one key, or a ring), else the key file (created when missing).</summary>
    public static SealingKeyRing Load(TokenGateSettings settings) =>
        settings.SealingKey is { } text ? SealingKeyRing.Parse(text) : SealingKeyRing.LoadOrCreate(settings.ResolvedKeyFile);

    /// <summary>Where the ring comes from, for log lines and errors.</summary>
    public static string Source(TokenGateSettings settings) =>
        settings.SealingKey is null ? settings.ResolvedKeyFile : TokenGateSettingsTable.SealingKey.EnvironmentVariable;

    /// <summary>
    /// Null when <paramref name="ring"/> holds (or retired) the key of every token of <paramref name="store"/> that is live or
    /// still answered "expired"; otherwise one line that names the missing keys, how many tokens need each, and the fix.
    /// </summary>
    public static async ValueTask<string?> FindMissingKeysAsync(SealingKeyRing ring, ITokenGateStore store, TimeSpan retention, TimeProvider time, CancellationToken cancellationToken)
    {
        if (store is not ISealingKeyUsage usage)
        {
            return null;
        }

        var live = await usage.CountTokensBySealingKeyAsync(LiveAfter(retention, time), cancellationToken);
        var missing = ring.Missing(live);
        if (missing.Count == 0)
        {
            return null;
        }

        var keys = string.Join(", ", missing.Select(pair => $"{pair.Key} ({pair.Value} live token(s))"));
        return $"the key ring lacks the sealing key{(missing.Count == 1 ? string.Empty : "s")} {keys}; restore a ring that holds "
            + $"{(missing.Count == 1 ? "it" : "them")} (from a backup or another instance), or give those tokens up with: tokengate key retire {missing[0].Key} --force";
    }

    /// <summary>The expiry after which a token still counts as live: now minus the retention window (an expired token is still answered "expired").</summary>
    public static long LiveAfter(TimeSpan retention, TimeProvider time) => time.GetUtcNow().ToUnixTimeSeconds() - (long)retention.TotalSeconds;

    /// <summary>At start, after the store is initialized: refuses a ring that lacks a needed key (exit code 2, one line).</summary>
    public static async Task EnsureCompleteAsync(IServiceProvider services, TokenGateSettings settings, CancellationToken cancellationToken)
    {
        var ring = services.GetRequiredService<LoadedKeyRing>().Ring;
        var problem = await FindMissingKeysAsync(
            ring, services.GetRequiredService<ITokenGateStore>(), settings.TokenPolicy.ExpiredRetention, services.GetRequiredService<TimeProvider>(), cancellationToken);
        if (problem is not null)
        {
            throw new SealingKeyException($"{Source(settings)}: {problem}.");
        }
    }
}

/// <summary>Reloads the key ring from the key file on SIGHUP, one reload at a time; see <see cref="KeyRing"/>.</summary>
public sealed class KeyRingReloader(
    LoadedKeyRing ring,
    ITokenGateStore store,
    TokenGateSettings settings,
    TimeProvider time,
    ILogger<KeyRingReloader> logger)
    : IHostedService, IDisposable
{
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);
    private PosixSignalRegistration? _registration;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Log.Holding(logger, KeyRing.Source(settings), ring.Ring.ToString());
        if (!OperatingSystem.IsWindows())
        {
            _registration = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                // SIGHUP would end the process otherwise.
                context.Cancel = true;
                _ = Task.Run(() => ReloadAsync(CancellationToken.None));
            });
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _registration?.Dispose();
        _registration = null;
        return Task.CompletedTask;
    }

    /// <summary>Reads the key file again and uses it, unless it cannot be read or lacks the key of a live token. True when replaced.</summary>
    public async Task<bool> ReloadAsync(CancellationToken cancellationToken)
    {
        var source = KeyRing.Source(settings);
        if (settings.SealingKey is not null)
        {
            Log.NothingToReload(logger, source);
            return false;
        }

        await _oneAtATime.WaitAsync(cancellationToken);
        try
        {
            var loaded = SealingKeyRing.Load(settings.ResolvedKeyFile);
            var problem = await KeyRing.FindMissingKeysAsync(loaded, store, settings.TokenPolicy.ExpiredRetention, time, cancellationToken);
            if (problem is not null)
            {
                Log.ReloadRefused(logger, source, ring.Ring.ToString(), problem);
                return false;
            }

            ring.Replace(loaded);
            Log.Reloaded(logger, source, loaded.ToString());
            return true;
        }
        catch (Exception exception) when (exception is SealingKeyException or StorageUnavailableException)
        {
            Log.ReloadRefused(logger, source, ring.Ring.ToString(), exception.Message);
            return false;
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    public void Dispose()
    {
        _registration?.Dispose();
        _oneAtATime.Dispose();
    }
}
