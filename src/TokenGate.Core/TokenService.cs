using System.Net;
using System.Security.Cryptography;
using TokenGate.Accounts;
using TokenGate.Caching;
using TokenGate.Security;
using TokenGate.Storage;
using TokenGate.Tokens;

namespace TokenGate;

/// <summary>
/// The issuing and password side of the token policy: issuing tokens, logging in, and deleting tokens, revoking them and changing
/// passwords through a token, as the ContactNow token API defines them. Checking a token is <see cref="TokenValidator"/>'s, which
/// this service uses before it changes anything. Every clock read goes through the <see cref="TimeProvider"/>.
/// </summary>
public sealed class TokenService
{
    // A password longer than this is never compared: no policy accepts it, and hashing it would only cost time.
    private const int MaxComparedPasswordLength = 1024;

    private readonly ITokenGateStore _store;
    private readonly IPasswordHasher _hasher;
    private readonly ITokenSealer _sealer;
    private readonly TokenTagger _tagger;
    private readonly TimeProvider _time;
    private readonly TokenPolicyOptions _options;
    private readonly PasswordPolicy _passwordPolicy;
    private readonly TokenCaches _caches;
    private readonly Lazy<string> _dummyHash;
    private readonly TokenValidator _validator;

    public TokenService(
        ITokenGateStore store,
        IPasswordHasher hasher,
        ITokenSealer sealer,
        TokenTagger tagger,
        TokenPolicyOptions options,
        PasswordPolicy passwordPolicy,
        TimeProvider time,
        TokenCaches? caches = null)
    {
        options.Validate();
        _store = store;
        _hasher = hasher;
        _sealer = sealer;
        _tagger = tagger;
        _options = options;
        _passwordPolicy = passwordPolicy;
        _time = time;
        _caches = caches ?? new TokenCaches(new TokenCacheOptions { Enabled = false });
        _validator = new TokenValidator(store, options, time, _caches, tagger);

        // Unknown usernames are checked against this hash so that they cost what a wrong password costs.
        _dummyHash = new Lazy<string>(() => _hasher.Hash(RandomNumberGenerator.GetHexString(32)), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public TokenPolicyOptions Options => _options;

    /// <summary>The token check this service applies (same store, caches, clock and retention).</summary>
    public TokenValidator Validator => _validator;

    /// <summary>The <c>get</c> action, called from the first of <paramref name="addresses"/> (the caller binding the token to itself).</summary>
    public ValueTask<IssueResult> GetTokenAsync(string? username, string? password, AddressSet addresses, CancellationToken cancellationToken) =>
        GetTokenAsync(username, password, addresses, addresses.Addresses[0], cancellationToken);

    /// <summary>
    /// The <c>get</c> action: authenticates the account for a <paramref name="caller"/> (refused before any password check when the
    /// account's allowed networks do not hold it) and returns its token for <paramref name="addresses"/>.
    /// </summary>
    public async ValueTask<IssueResult> GetTokenAsync(string? username, string? password, AddressSet addresses, IPAddress caller, CancellationToken cancellationToken)
    {
        var epoch = ObserveEpoch();
        var check = await AuthenticateAsync(username, password, string.Empty, caller, epoch, cancellationToken);
        return check.Account is null
            ? IssueResult.Failed(check.OutsideAllowedNetworks ? IssueStatus.OutsideAllowedNetworks : IssueStatus.AuthenticationFailure, check.KnownName)
            : await IssueAsync(check.Account, addresses, epoch, audit: null, cancellationToken);
    }

    /// <summary>
    /// The second half of <c>get</c>, for an account already authenticated (the OAuth2 client credentials grant). A token added
    /// and a refusal for too many tokens have their audit entry, made of <paramref name="audit"/>, written by the store in the
    /// same transaction.
    /// </summary>
    public ValueTask<IssueResult> IssueAsync(AccountRecord account, AddressSet addresses, IssueAudit audit, CancellationToken cancellationToken) =>
        IssueAsync(account, addresses, ObserveEpoch(), audit, cancellationToken);

    /// <summary>The lifetime of the account's new tokens: its own, or the server's.</summary>
    public TimeSpan LifetimeOf(AccountRecord account) => account.Policy.TokenLifetime ?? _options.Lifetime;

    /// <summary>The most unexpired tokens the account may hold: its own cap, or the server's.</summary>
    public int MaxActiveTokensOf(AccountRecord account) => account.Policy.MaxTokens ?? _options.MaxActiveTokensPerAccount;

    private async ValueTask<IssueResult> IssueAsync(AccountRecord account, AddressSet addresses, long? epoch, IssueAudit? audit, CancellationToken cancellationToken)
    {
        if (!account.Policy.AdmitsAll(addresses))
        {
            return IssueResult.Failed(IssueStatus.AddressNotAllowed, account.Name);
        }

        var now = UnixNow();
        var expiresAt = now + (long)LifetimeOf(account).TotalSeconds;
        var latestReusable = expiresAt + TokenIssueRequest.ReuseToleranceSeconds;
        // A remembered token is handed back only while its key is still in the ring (a forced retire gives it up) and it does
        // not outlive the account's present lifetime.
        // Its tag was verified before it was remembered: only the key may have left the ring since (MayStillBeIssued). The
        // remembered answer is handed back as it is: a repeat get allocates nothing.
        if (epoch is { } known && _caches.TryGetIssued(account.Id, addresses.Key, known, now, out var issued) && issued.Handed.ExpiresAt <= latestReusable
            && _validator.MayStillBeIssued(issued.Handed.Token!))
        {
            return issued.Handed;
        }

        // The common case is an existing token: look for it on the read path before queueing a write, where the store says
        // that pays (ReadsBeforeIssuing). One that outlives what the account's (since shortened) lifetime would give a new token
        // is not handed back.
        var current = _store.ReadsBeforeIssuing
            ? await _store.FindCurrentTokenAsync(account.Id, addresses.Key, now, latestReusable, cancellationToken)
            : null;
        if (current is not null && _sealer.TryUnseal(current.SealedToken, current.Digest, out var value) && _validator.MayBeIssued(value!))
        {
            Remember(account, addresses, epoch, value!, current);
            return IssueResult.Issued(account.Name, value!, current.Digest!, current.ExpiresAt, isNew: false);
        }

        // At most two rounds: the second only when the existing token was sealed under a key no longer held, or is an untagged
        // token that validate no longer answers (one an instance of an older build issued after the schema was upgraded).
        var alwaysAdd = false;
        for (var round = 0; ; round++)
        {
            var candidate = TokenValue.Generate(_tagger);
            var digest = TokenValue.ComputeDigest(candidate);
            var request = new TokenIssueRequest(
                account.Id,
                account.CredentialStamp,
                addresses.Key,
                digest,
                _sealer.Seal(candidate, digest),
                now,
                expiresAt,
                MaxActiveTokensOf(account),
                alwaysAdd)
            {
                Audit = audit,
            };

            var result = await _store.GetOrAddTokenAsync(request, cancellationToken);
            switch (result.Status)
            {
                case TokenIssueStatus.Added:
                    Remember(account, addresses, epoch, candidate, result);
                    return IssueResult.Issued(account.Name, candidate, digest, result.ExpiresAt, isNew: true);
                case TokenIssueStatus.Existing when _sealer.TryUnseal(result.SealedToken, result.Digest, out var existing) && _validator.MayBeIssued(existing!):
                    Remember(account, addresses, epoch, existing!, result);
                    return IssueResult.Issued(account.Name, existing!, result.Digest!, result.ExpiresAt, isNew: false);
                case TokenIssueStatus.Existing when round == 0:
                    // Sealed under a key this server no longer holds (the holder keeps using it), or untagged past the legacy
                    // window: this caller gets a new one.
                    alwaysAdd = true;
                    continue;
                case TokenIssueStatus.Existing:
                    throw new InvalidOperationException("The store returned an existing token when asked to add one.");
                case TokenIssueStatus.TooManyTokens:
                    return IssueResult.Failed(IssueStatus.TooManyTokens, account.Name);
                default:
                    return IssueResult.Failed(IssueStatus.AuthenticationFailure, account.Name);
            }
        }
    }

    /// <summary>
    /// Checks an account's username and password (an OAuth2 client's id and secret) for a <paramref name="caller"/> under the same
    /// rules as <c>get</c>: refused without a password check when the account's allowed networks do not hold the caller, otherwise
    /// one PBKDF2 run per attempt unless recently verified, the same cost for unknown names. A success is remembered for
    /// <paramref name="scope"/> only (the client it came from): a remembered verification answers
    /// <see cref="TryAuthenticateRemembered"/> for the same username, password and scope alone, so it never lets a guess from
    /// another client skip the guessing defences. No account unless right, enabled and called from an allowed network.
    /// </summary>
    public async ValueTask<CredentialCheck> AuthenticateAsync(string? username, string? password, string scope, IPAddress caller, CancellationToken cancellationToken) =>
        await AuthenticateAsync(username, password, scope, caller, ObserveEpoch(), cancellationToken);

    /// <summary>
    /// A process-keyed MAC of the username, password and scope: equal for the same three, unrelated otherwise, and useless
    /// outside this process. Concurrent checks of one credential share one verification under it.
    /// </summary>
    public DigestKey CredentialFingerprint(string? username, string? password, string scope) =>
        _caches.CredentialKey(username ?? string.Empty, password is { Length: <= MaxComparedPasswordLength } ? password : string.Empty, scope);

    /// <summary>
    /// The account when this username and password were verified for <paramref name="scope"/> under the current revocation epoch
    /// within the credential lifetime: no hashing, no I/O. Null otherwise (which tells nothing: the caller runs the full check).
    /// </summary>
    public AccountRecord? TryAuthenticateRemembered(string? username, string? password, string scope, IPAddress caller)
    {
        if (username is null || password is null || password.Length is 0 or > MaxComparedPasswordLength || ObserveEpoch() is not { } epoch)
        {
            return null;
        }

        // A caller outside the account's networks is never answered from memory: the full check refuses it, and records why.
        return _caches.TryGetCredential(_caches.CredentialKey(username, password, scope), epoch, UnixNow(), out var account) && account.Policy.Admits(caller)
            ? account
            : null;
    }

    /// <summary>
    /// RFC 7009 revocation by the account that holds the token: deletes it when it is that account's, whatever its expiry or
    /// address. Valid (with the token) when deleted, otherwise invalid.
    /// </summary>
    public async ValueTask<TokenValidation> RevokeAsync(string? token, long accountId, CancellationToken cancellationToken)
    {
        var found = await _validator.LookupAsync(token, cancellationToken);
        if (found is null || found.Token.AccountId != accountId)
        {
            return TokenValidation.Invalid;
        }

        var deleted = await _store.DeleteTokenAsync(found.Token.Digest, cancellationToken);
        _validator.Forget(token!);
        return deleted ? new TokenValidation(TokenStatus.Valid, found.Token, found.Addresses) : TokenValidation.Invalid;
    }

    /// <summary>The <c>delete</c> action: a valid token, used from a bound address, stops working at once.</summary>
    public async ValueTask<TokenValidation> DeleteAsync(string? token, IPAddress caller, CancellationToken cancellationToken)
    {
        var validation = await _validator.ValidateAsync(token, caller, cancellationToken);
        if (validation.Status != TokenStatus.Valid)
        {
            return validation;
        }

        var deleted = await _store.DeleteTokenAsync(validation.Token!.Digest, cancellationToken);
        _validator.Forget(token!);
        return deleted ? validation : TokenValidation.Invalid;
    }

    /// <summary>
    /// The <c>newpass</c> action: sets the account's password; the token used keeps working and every other token of the
    /// account is deleted.
    /// </summary>
    public async ValueTask<PasswordChangeResult> ChangePasswordAsync(string? token, IPAddress caller, string? newPassword, CancellationToken cancellationToken)
    {
        // A token of an account whose networks do not hold the caller is refused before anything else, as its password would be.
        var found = await _validator.LookupAsync(token, cancellationToken);
        if (found is not null && AllowedNetworks.FromStored(found.Token.AllowedNetworks) is { } networks && !networks.Contains(caller))
        {
            return new PasswordChangeResult(TokenStatus.Invalid, PasswordAccepted: false, found.Token, OutsideAllowedNetworks: true);
        }

        var validation = await _validator.ValidateAsync(token, caller, cancellationToken);
        if (validation.Status != TokenStatus.Valid)
        {
            return new PasswordChangeResult(validation.Status, PasswordAccepted: false);
        }

        var stored = validation.Token!;
        if (!_passwordPolicy.Accepts(newPassword, stored.AccountName))
        {
            return new PasswordChangeResult(TokenStatus.Valid, PasswordAccepted: false);
        }

        var changed = await _store.ChangePasswordAsync(stored.AccountId, _hasher.Hash(newPassword!), stored.Digest, cancellationToken);
        return changed
            ? new PasswordChangeResult(TokenStatus.Valid, PasswordAccepted: true, stored)
            : new PasswordChangeResult(TokenStatus.Invalid, PasswordAccepted: false);
    }

    /// <summary>
    /// Checks a username and password. Every path costs one password verification unless this exact pair was verified under the
    /// current revocation epoch within the credential lifetime, so that timing tells nothing about which part was wrong. Returns
    /// the account when both are right and it is enabled, and the account's name whenever it exists (for logging: a string that
    /// is not an account name may be a password typed in the wrong field, and is never returned).
    /// </summary>
    private async ValueTask<CredentialCheck> AuthenticateAsync(string? username, string? password, string scope, IPAddress caller, long? epoch, CancellationToken cancellationToken)
    {
        if (username is null || password is null || password.Length == 0 || password.Length > MaxComparedPasswordLength || !AccountName.IsValid(username))
        {
            _hasher.Verify(_dummyHash.Value, password is { Length: <= MaxComparedPasswordLength } ? password : string.Empty);
            return new CredentialCheck(null, null);
        }

        var now = UnixNow();
        var credentialKey = epoch is null ? default : _caches.CredentialKey(username, password, scope);
        if (epoch is { } known && _caches.TryGetCredential(credentialKey, known, now, out var remembered) && remembered.Policy.Admits(caller))
        {
            return new CredentialCheck(remembered, remembered.Name);
        }

        var account = await _store.FindAccountAsync(username, cancellationToken);
        if (account is null)
        {
            _hasher.Verify(_dummyHash.Value, password);
            return new CredentialCheck(null, null);
        }

        // The network before the password: from outside, the password is never checked, so a leaked one is worth nothing there
        // and the answer cannot tell whether it was right. (The missing PBKDF2 run shows that the name is an account with a
        // network policy; docs/SECURITY.md weighs that.)
        if (!account.Policy.Admits(caller))
        {
            return new CredentialCheck(null, account.Name, OutsideAllowedNetworks: true);
        }

        var verification = _hasher.Verify(account.PasswordHash, password);
        if (verification == PasswordVerification.Failed || !account.Enabled)
        {
            return new CredentialCheck(null, account.Name);
        }

        if (verification == PasswordVerification.SuccessRehashNeeded)
        {
            await _store.RehashPasswordAsync(account.Id, account.PasswordHash, _hasher.Hash(password), cancellationToken);
        }

        if (epoch is { } observed)
        {
            _caches.SetCredential(credentialKey, observed, now, account);
        }

        return new CredentialCheck(account, account.Name);
    }

    private void Remember(AccountRecord account, AddressSet addresses, long? epoch, string token, TokenIssueResult result)
    {
        if (epoch is { } known)
        {
            _caches.SetIssued(account.Id, addresses.Key, known, new IssuedToken(IssueResult.Issued(account.Name, token, result.Digest!, result.ExpiresAt, isNew: false)));
        }
    }

    /// <summary>The store's revocation epoch when caching is on and the store can tell it; null means "read the store".</summary>
    private long? ObserveEpoch() => _caches.Enabled ? _store.ObserveRevocationEpoch() : null;

    private long UnixNow() => _time.GetUtcNow().ToUnixTimeSeconds();
}

public enum TokenStatus
{
    Valid,
    Invalid,
    Expired,
}

/// <summary>The answer to "is this token good from this address": the stored token and its addresses when valid.</summary>
public readonly record struct TokenValidation(TokenStatus Status, StoredToken? Token = null, AddressSet? Addresses = null)
{
    public static readonly TokenValidation Invalid = new(TokenStatus.Invalid);
    public static readonly TokenValidation Expired = new(TokenStatus.Expired);
}

public enum IssueStatus
{
    Issued,
    AuthenticationFailure,
    TooManyTokens,

    /// <summary>The caller is outside the account's allowed networks: answered as <see cref="AuthenticationFailure"/>.</summary>
    OutsideAllowedNetworks,

    /// <summary>An address the token would be bound to is outside the account's allowed networks (<c>Bad argument: address</c>).</summary>
    AddressNotAllowed,
}

/// <summary>
/// The outcome of a credential check: the account when the password was right, the account enabled and the caller inside its
/// networks; the account's name whenever it exists (for the log and the audit trail); whether it was refused for the caller's
/// network (before any password check).
/// </summary>
public readonly record struct CredentialCheck(AccountRecord? Account, string? KnownName, bool OutsideAllowedNetworks = false);

/// <summary>The outcome of <c>get</c>: the token value and its expiry when issued (or handed back).</summary>
public sealed record IssueResult(IssueStatus Status, string? AccountName = null, string? Token = null, byte[]? Digest = null, long ExpiresAt = 0, bool IsNew = false)
{
    private string? _tokenId;

    /// <summary>The token's non-secret id (<see cref="TokenValue.IdOf"/>), made once per result: a remembered result is handed
    /// back by every repeat get.</summary>
    public string? TokenId => Digest is null ? null : _tokenId ??= TokenValue.IdOf(Digest);

    public static IssueResult Failed(IssueStatus status, string? accountName) => new(status, accountName);

    public static IssueResult Issued(string accountName, string token, byte[] digest, long expiresAt, bool isNew) =>
        new(IssueStatus.Issued, accountName, token, digest, expiresAt, isNew);

    /// <summary>Never prints the token value.</summary>
    public override string ToString() => $"{Status} {AccountName} id={TokenId ?? "-"} expires={ExpiresAt}";
}

/// <summary>The outcome of <c>newpass</c>: the token's status, and whether the new password was accepted and stored.
/// <see cref="OutsideAllowedNetworks"/>: the token's account may not be used from the caller's address (nothing was checked).</summary>
public readonly record struct PasswordChangeResult(TokenStatus TokenStatus, bool PasswordAccepted, StoredToken? Token = null, bool OutsideAllowedNetworks = false);
