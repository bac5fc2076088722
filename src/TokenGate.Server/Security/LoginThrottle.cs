using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace TokenGate.Server.Security;

/// <summary>
/// Brute-force protection of every credential check (<c>get</c>, <c>newpass</c>, OAuth2 client authentication). Attempts are
/// counted in the store — shared by every instance on the database and kept across restarts — per (username, client), per
/// client, and per username from any client, each in a window that restarts <see cref="LoginThrottleOptions.Window"/> after
/// its last attempt.
/// <para>
/// An attempt <em>reserves</em> its place before the check runs (an atomic check-and-increment in the store), so attempts in
/// flight count: however many arrive at once, at most <c>BlockAfter</c> of one (username, client) reach the password check.
/// A success gives its reservation back (and clears its (username, client) count); a failure keeps it.
/// </para>
/// <para>
/// The per-username limit is what stops a guesser with many addresses. It cannot lock the real user out: the username's
/// <em>familiar</em> clients — those it logged in from within <see cref="LoginThrottleOptions.FamiliarFor"/>, and those its
/// live tokens are bound to — are exempt from it (they keep their own limits). Clients are counted by address, IPv6 by its
/// /64 (<see cref="LoginThrottleOptions.Ipv6Prefix"/>), since one host holds a whole /64.
/// </para>
/// <para>
/// Usernames reach the store only as SHA-256 digests: a password typed into the username field must not be kept readable.
/// </para>
/// </summary>
public sealed class LoginThrottle(ILoginAttemptStore store, ITokenIssueStore tokens, LoginThrottleOptions options, TimeProvider time)
{
    /// <summary>Past this many, <see cref="_unsettled"/> starts over (its entries only save a later full check some work).</summary>
    private const int MaxUnsettled = 10_000;

    private const int MaxTokensScanned = 1000;

    /// <summary>
    /// The (username, client) pairs this process reserved attempts for that no success has settled yet: a success that needs no
    /// check (a remembered password) clears such a pair's count too, as a checked one does, without a store read per request.
    /// </summary>
    private readonly ConcurrentDictionary<(string Username, string Client), byte> _unsettled = new();

    /// <summary>The counters an attempt touches, and what the reservation said; handed back on success.</summary>
    public sealed record Ticket(IReadOnlyList<AttemptCounter> Counters, string Username, string UsernameKey, string ClientKey, TimeSpan Delay, TimeSpan RetryAfter, bool Refused, AttemptScope? RefusedBy, IReadOnlyList<AttemptScope> BlocksStarted)
    {
        public static readonly Ticket Unthrottled = new([], string.Empty, string.Empty, string.Empty, TimeSpan.Zero, TimeSpan.Zero, false, null, []);
    }

    public bool Enabled => options.Enabled;

    /// <summary>The client as counted: an IPv4 address, or the IPv6 prefix it belongs to (IPv4-mapped IPv6 counts as IPv4).</summary>
    public string ClientKey(IPAddress client) => ClientKey(client, options.Ipv6Prefix);

    public static string ClientKey(IPAddress client, int ipv6Prefix)
    {
        var address = AddressSet.Normalize(client);
        if (address.AddressFamily != AddressFamily.InterNetworkV6 || ipv6Prefix >= 128)
        {
            return address.ToString();
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        for (var bit = ipv6Prefix; bit < 128; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }

        return new IPAddress(bytes).ToString() + "/" + ipv6Prefix.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>The username as stored: the hex SHA-256 of its UTF-8 (over-long ones cut first, so the work stays small).</summary>
    public static string UsernameKey(string? username)
    {
        var text = username is null ? string.Empty : username.Length <= 256 ? username : username[..256];
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    /// <summary>
    /// Reserves an attempt of <paramref name="username"/> from <paramref name="client"/>, or says why not. <paramref name="accountWide"/>
    /// is false for keys that are not usernames (newpass's), which have no per-username limit.
    /// </summary>
    public async ValueTask<Ticket> ReserveAsync(string? username, IPAddress client, bool accountWide, CancellationToken cancellationToken)
    {
        if (!options.Enabled)
        {
            return Ticket.Unthrottled;
        }

        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var window = (long)options.Window.TotalSeconds;
        var usernameKey = UsernameKey(username);
        var clientKey = ClientKey(client);

        // A client the username logged in from lately counts only against its own (username, client) limit: a central server
        // that logs in as many accounts at once, or an address under attack from elsewhere, is not refused for others' failures.
        var familiar = accountWide && await store.IsFamiliarAsync(usernameKey, clientKey, now - (long)options.FamiliarFor.TotalSeconds, cancellationToken);
        List<AttemptCounter> counters = [AttemptCounter.Pair(usernameKey, clientKey, options.BlockAfter)];
        if (!familiar)
        {
            counters.Add(AttemptCounter.ForClient(clientKey, options.BlockAfterPerClient));
            if (accountWide)
            {
                counters.Add(AttemptCounter.Account(usernameKey, options.BlockAfterPerAccount));
            }
        }

        var reservation = await store.ReserveAttemptAsync(counters, now, window, cancellationToken);
        if (!reservation.Allowed && counters[reservation.RefusedIndex].Scope == AttemptScope.Account && await IsBoundToLiveTokenAsync(username, client, now, cancellationToken))
        {
            // The username is under attack from elsewhere, but its live tokens are bound to this client: it is one the account
            // trusts (a token issued before the familiar table knew the client, or for a machine a central server serves).
            counters.RemoveAt(counters.Count - 1);
            reservation = await store.ReserveAttemptAsync(counters, now, window, cancellationToken);
        }

        var started = reservation.BlocksStarted.Select(index => counters[index].Scope).ToList();
        if (reservation.Allowed)
        {
            if (_unsettled.Count >= MaxUnsettled)
            {
                _unsettled.Clear();
            }

            _unsettled[(username ?? string.Empty, clientKey)] = 0;
        }
        else
        {
            return new Ticket(counters, username ?? string.Empty, usernameKey, clientKey, TimeSpan.Zero, TimeSpan.FromSeconds(Math.Max(1, reservation.RetryAfterSeconds)), true, counters[reservation.RefusedIndex].Scope, started);
        }

        var excess = Math.Max(reservation.CountsBefore[0] - options.DelayAfter, counters.Count > 1 ? reservation.CountsBefore[1] - options.DelayAfterPerClient : -1);
        var delay = TimeSpan.Zero;
        if (excess >= 0)
        {
            delay = options.BaseDelay * Math.Pow(2, Math.Min(excess, 16));
            delay = delay < options.MaxDelay ? delay : options.MaxDelay;
        }

        return new Ticket(counters, username ?? string.Empty, usernameKey, clientKey, delay, TimeSpan.Zero, false, null, started);
    }

    /// <summary>
    /// The check passed: the reservation is given back. For a password, its (username, client) count is cleared and the client
    /// remembered as familiar to the username; for anything else (a newpass token) only this attempt is given back.
    /// </summary>
    public ValueTask SucceededAsync(Ticket ticket, bool isPassword, CancellationToken cancellationToken)
    {
        if (ticket.Counters.Count == 0)
        {
            return ValueTask.CompletedTask;
        }

        if (isPassword)
        {
            _unsettled.TryRemove((ticket.Username, ticket.ClientKey), out _);
        }

        var now = time.GetUtcNow().ToUnixTimeSeconds();
        return store.ReleaseAttemptAsync(ticket.Counters, forgetPairs: isPassword, isPassword ? ticket.UsernameKey : null, isPassword ? ticket.ClientKey : null, now, cancellationToken);
    }

    /// <summary>
    /// A success that needed no check (the password was remembered for this client): clears the (username, client) count when
    /// this process counted failures of the pair that no success has cleared yet. Otherwise nothing, and no I/O.
    /// </summary>
    public ValueTask SettleRememberedAsync(string? username, string clientKey, CancellationToken cancellationToken)
    {
        if (_unsettled.IsEmpty || !_unsettled.TryRemove((username ?? string.Empty, clientKey), out _))
        {
            return ValueTask.CompletedTask;
        }

        var now = time.GetUtcNow().ToUnixTimeSeconds();
        return store.ReleaseAttemptAsync([AttemptCounter.Pair(UsernameKey(username), clientKey, options.BlockAfter)], forgetPairs: true, null, null, now, cancellationToken);
    }

    /// <summary>What a counter counts, in words (logs and the CLI).</summary>
    public static string Describe(AttemptScope scope) => scope switch
    {
        AttemptScope.Pair => "username+address",
        AttemptScope.Client => "address",
        _ => "username",
    };

    private async ValueTask<bool> IsBoundToLiveTokenAsync(string? username, IPAddress client, long now, CancellationToken cancellationToken)
    {
        // Bound to one of its live tokens: a client (or the machine a central server issues tokens for) it already trusts.
        if (username is null || !Accounts.AccountName.IsValid(username))
        {
            return false;
        }

        var caller = AddressSet.Normalize(client);
        foreach (var token in await tokens.ListTokensAsync(username, MaxTokensScanned, cancellationToken))
        {
            if (token.ExpiresAt > now && AddressSet.TryParse(token.AddressKey, out var addresses) && addresses!.Contains(caller))
            {
                return true;
            }
        }

        return false;
    }

}
