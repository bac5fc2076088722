using TokenGate.Accounts;
using TokenGate.Storage;

namespace TokenGate.Core.Tests.Fakes;

/// <summary>
/// A store that keeps everything in two dictionaries under one lock, following the documented semantics of
/// <see cref="ITokenGateStore"/>, and passes the store conformance suite (<see cref="InMemoryStoreConformanceTests"/>). It also
/// records the calls the policy makes, so that tests can see them.
/// </summary>
public sealed partial class InMemoryTokenGateStore : ITokenGateStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Account> _accounts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Token> _tokens = new(StringComparer.Ordinal);
    private readonly List<TokenIssueRequest> _issueRequests = [];
    private readonly List<PurgeCall> _purgeCalls = [];
    private readonly List<AuditRecord> _audit = [];
    private long _nextAuditId = 1;
    private long _nextAccountId = 1;
    private long _revocationEpoch = 1;
    private volatile bool _disposed;
    private int _createAccountCalls;

    public IReadOnlyList<TokenIssueRequest> IssueRequests
    {
        get
        {
            lock (_lock)
            {
                return [.. _issueRequests];
            }
        }
    }

    public IReadOnlyList<PurgeCall> PurgeCalls
    {
        get
        {
            lock (_lock)
            {
                return [.. _purgeCalls];
            }
        }
    }

    public int CreateAccountCalls
    {
        get
        {
            lock (_lock)
            {
                return _createAccountCalls;
            }
        }
    }

    /// <summary>Adds an account directly, as an operator would have; returns its id.</summary>
    public long AddAccount(string name, string passwordHash, bool enabled = true)
    {
        lock (_lock)
        {
            var account = new Account(_nextAccountId++, name, passwordHash, enabled, createdAt: 0);
            _accounts.Add(name, account);
            return account.Id;
        }
    }

    public AccountRecord? FindAccount(string name)
    {
        lock (_lock)
        {
            return _accounts.TryGetValue(name, out var account) ? account.ToRecord() : null;
        }
    }

    /// <summary>What a concurrent password change does to the account, without its other effects.</summary>
    public void ChangeCredentialStamp(string name)
    {
        lock (_lock)
        {
            _accounts[name].CredentialStamp++;
        }
    }

    /// <summary>Stores a token row directly (as if issued earlier) for tests that need one with a given expiry.</summary>
    public void AddToken(long accountId, byte[] digest, string addressKey, long issuedAt, long expiresAt, byte[]? sealedToken = null)
    {
        lock (_lock)
        {
            _tokens.Add(Convert.ToHexString(digest), new Token(digest, accountId, addressKey, sealedToken ?? [], issuedAt, expiresAt));
        }
    }

    /// <summary>Every stored token row of the account, whatever its expiry.</summary>
    public IReadOnlyList<StoredToken> TokensOf(string name)
    {
        lock (_lock)
        {
            var account = _accounts[name];
            return [.. _tokens.Values.Where(t => t.AccountId == account.Id).Select(t => t.ToStored(account))];
        }
    }

    public ValueTask InitializeAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask<AccountRecord?> FindAccountAsync(string name, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return ValueTask.FromResult(FindAccount(name));
    }

    public ValueTask<IReadOnlyList<AccountSummary>> ListAccountsAsync(long now, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_lock)
        {
            IReadOnlyList<AccountSummary> list =
            [
                .. _accounts.Values
                    .OrderBy(a => a.Name, StringComparer.Ordinal)
                    .Select(a => new AccountSummary(a.Name, a.Enabled, a.CreatedAt, _tokens.Values.Count(t => t.AccountId == a.Id && t.ExpiresAt > now), a.CanIntrospect) { Policy = a.Policy }),
            ];
            return ValueTask.FromResult(list);
        }
    }

    public ValueTask<bool> CreateAccountAsync(string name, string passwordHash, long createdAt, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_lock)
        {
            _createAccountCalls++;
            if (_accounts.Keys.Any(existing => string.Equals(existing, name, StringComparison.OrdinalIgnoreCase)))
            {
                return ValueTask.FromResult(false);
            }

            _accounts.Add(name, new Account(_nextAccountId++, name, passwordHash, enabled: true, createdAt));
            return ValueTask.FromResult(true);
        }
    }

    public ValueTask<bool> ChangePasswordAsync(long accountId, string passwordHash, ReadOnlyMemory<byte>? keepTokenDigest, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var account = _accounts.Values.SingleOrDefault(a => a.Id == accountId);
            if (account is null)
            {
                return ValueTask.FromResult(false);
            }

            account.PasswordHash = passwordHash;
            account.CredentialStamp++;
            var keep = keepTokenDigest is { } digest ? Convert.ToHexString(digest.Span) : null;
            RemoveTokens(t => t.AccountId == accountId && !string.Equals(Convert.ToHexString(t.Digest), keep, StringComparison.Ordinal));
            MoveEpoch();
            return ValueTask.FromResult(true);
        }
    }

    public ValueTask RehashPasswordAsync(long accountId, string currentHash, string newHash, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var account = _accounts.Values.SingleOrDefault(a => a.Id == accountId);
            if (account is not null && string.Equals(account.PasswordHash, currentHash, StringComparison.Ordinal))
            {
                account.PasswordHash = newHash;
            }

            return ValueTask.CompletedTask;
        }
    }

    public ValueTask<bool> SetAccountEnabledAsync(string name, bool enabled, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_accounts.TryGetValue(name, out var account))
            {
                return ValueTask.FromResult(false);
            }

            account.Enabled = enabled;
            if (!enabled)
            {
                account.CredentialStamp++;
                RemoveTokens(t => t.AccountId == account.Id);
            }

            MoveEpoch();
            return ValueTask.FromResult(true);
        }
    }

    public ValueTask<bool> SetAccountIntrospectionAsync(string name, bool allowed, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_accounts.TryGetValue(name, out var account))
            {
                return ValueTask.FromResult(false);
            }

            account.CanIntrospect = allowed;
            MoveEpoch();
            return ValueTask.FromResult(true);
        }
    }

    public ValueTask<bool> SetAccountPolicyAsync(string name, AccountPolicy policy, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_accounts.TryGetValue(name, out var account))
            {
                return ValueTask.FromResult(false);
            }

            account.Policy = policy;
            MoveEpoch();
            return ValueTask.FromResult(true);
        }
    }

    public ValueTask<bool> RemoveAccountAsync(string name, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_accounts.Remove(name, out var account))
            {
                return ValueTask.FromResult(false);
            }

            RemoveTokens(t => t.AccountId == account.Id);
            MoveEpoch();
            return ValueTask.FromResult(true);
        }
    }

    public ValueTask<StoredToken?> FindTokenAsync(ReadOnlyMemory<byte> digest, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_lock)
        {
            if (!_tokens.TryGetValue(Convert.ToHexString(digest.Span), out var token))
            {
                return ValueTask.FromResult<StoredToken?>(null);
            }

            var account = _accounts.Values.Single(a => a.Id == token.AccountId);
            return ValueTask.FromResult<StoredToken?>(token.ToStored(account));
        }
    }

    public ValueTask<TokenIssueResult> GetOrAddTokenAsync(TokenIssueRequest request, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_lock)
        {
            _issueRequests.Add(request);
            var account = _accounts.Values.SingleOrDefault(a => a.Id == request.AccountId);
            if (account is null || !account.Enabled || account.CredentialStamp != request.CredentialStamp)
            {
                return ValueTask.FromResult(TokenIssueResult.CredentialsChanged);
            }

            var active = _tokens.Values.Where(t => t.AccountId == request.AccountId && t.ExpiresAt > request.Now).ToList();
            if (!request.AlwaysAdd)
            {
                var existing = active
                    .Where(t => string.Equals(t.AddressKey, request.AddressKey, StringComparison.Ordinal) && t.ExpiresAt <= request.LatestReusableExpiry)
                    .MaxBy(t => t.ExpiresAt);
                if (existing is not null)
                {
                    return ValueTask.FromResult(new TokenIssueResult(TokenIssueStatus.Existing, existing.Digest, existing.Sealed, existing.ExpiresAt));
                }
            }

            if (active.Count >= request.MaxActiveTokens)
            {
                AuditOutcome(request, TokenIssueStatus.TooManyTokens);
                return ValueTask.FromResult(TokenIssueResult.TooManyTokens);
            }

            _tokens.Add(
                Convert.ToHexString(request.Digest),
                new Token(request.Digest, request.AccountId, request.AddressKey, request.SealedToken, request.Now, request.ExpiresAt));
            AuditOutcome(request, TokenIssueStatus.Added);
            return ValueTask.FromResult(new TokenIssueResult(TokenIssueStatus.Added, request.Digest, request.SealedToken, request.ExpiresAt));
        }
    }

    /// <summary>As the real stores do, in the same step as the outcome (the caller holds the lock).</summary>
    private void AuditOutcome(TokenIssueRequest request, TokenIssueStatus status)
    {
        if (request.AuditEntryFor(status) is { } entry)
        {
            _audit.Add(new AuditRecord(_nextAuditId++, entry));
        }
    }

    public ValueTask<bool> DeleteTokenAsync(ReadOnlyMemory<byte> digest, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_lock)
        {
            var deleted = _tokens.Remove(Convert.ToHexString(digest.Span));
            if (deleted)
            {
                MoveEpoch();
            }

            return ValueTask.FromResult(deleted);
        }
    }

    public ValueTask<string?> RevokeTokenByIdAsync(ReadOnlyMemory<byte> low, ReadOnlyMemory<byte> high, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var lowBytes = low.ToArray();
            var highBytes = high.ToArray();
            bool InRange(Token t) => t.Digest.AsSpan().SequenceCompareTo(lowBytes) >= 0 && t.Digest.AsSpan().SequenceCompareTo(highBytes) <= 0;
            var found = _tokens.Values.Where(InRange).OrderBy(t => Convert.ToHexString(t.Digest), StringComparer.Ordinal).FirstOrDefault();
            if (found is null)
            {
                return ValueTask.FromResult<string?>(null);
            }

            var owner = _accounts.Values.Single(a => a.Id == found.AccountId).Name;
            RemoveTokens(InRange);
            MoveEpoch();
            return ValueTask.FromResult<string?>(owner);
        }
    }

    public ValueTask<int> RevokeTokensAsync(string? accountName, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var revoked = accountName is null
                ? RemoveTokens(_ => true)
                : _accounts.TryGetValue(accountName, out var account) ? RemoveTokens(t => t.AccountId == account.Id) : 0;
            if (revoked > 0)
            {
                MoveEpoch();
            }

            return ValueTask.FromResult(revoked);
        }
    }

    public ValueTask<IReadOnlyList<TokenSummary>> ListTokensAsync(string? accountName, int limit, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_lock)
        {
            IReadOnlyList<TokenSummary> list =
            [
                .. _tokens.Values
                    .Select(t => (Token: t, Account: _accounts.Values.Single(a => a.Id == t.AccountId)))
                    .Where(x => accountName is null || string.Equals(x.Account.Name, accountName, StringComparison.Ordinal))
                    .OrderByDescending(x => x.Token.IssuedAt)
                    .Take(limit)
                    .Select(x => new TokenSummary(Tokens.TokenValue.IdOf(x.Token.Digest), x.Account.Name, x.Token.AddressKey, x.Token.IssuedAt, x.Token.ExpiresAt)),
            ];
            return ValueTask.FromResult(list);
        }
    }

    public ValueTask<int> PurgeExpiredTokensAsync(long expiredAtOrBefore, int batchSize, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_lock)
        {
            var batch = _tokens.Where(t => t.Value.ExpiresAt <= expiredAtOrBefore).Take(batchSize).Select(t => t.Key).ToList();
            foreach (var key in batch)
            {
                _tokens.Remove(key);
            }

            if (batch.Count > 0)
            {
                MoveEpoch();
            }

            _purgeCalls.Add(new PurgeCall(expiredAtOrBefore, batchSize, batch.Count));
            return ValueTask.FromResult(batch.Count);
        }
    }

    /// <summary>As a store says it (SQLite true, PostgreSQL false); settable to test both.</summary>
    public bool ReadsBeforeIssuing { get; set; } = true;

    /// <summary>How often <see cref="FindCurrentTokenAsync"/> ran.</summary>
    public int CurrentTokenReads { get; private set; }

    public ValueTask<TokenIssueResult?> FindCurrentTokenAsync(long accountId, string addressKey, long now, long latestExpiry, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            CurrentTokenReads++;
            var existing = _tokens.Values
                .Where(t => t.AccountId == accountId && t.ExpiresAt > now && t.ExpiresAt <= latestExpiry && string.Equals(t.AddressKey, addressKey, StringComparison.Ordinal))
                .MaxBy(t => t.ExpiresAt);
            return ValueTask.FromResult(existing is null ? null : new TokenIssueResult(TokenIssueStatus.Existing, existing.Digest, existing.Sealed, existing.ExpiresAt));
        }
    }

    public long? ObserveRevocationEpoch() => Interlocked.Read(ref _revocationEpoch);

    public ValueTask AppendAuditAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _audit.AddRange(entries.Select(entry => new AuditRecord(_nextAuditId++, entry)));
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<int> PurgeAuditAsync(long before, int batchSize, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var doomed = _audit.Where(r => r.Entry.At < before).OrderBy(r => r.Entry.At).Take(batchSize).ToHashSet(ReferenceEqualityComparer.Instance);
            return ValueTask.FromResult(_audit.RemoveAll(doomed.Contains));
        }
    }

    public ValueTask DisposeAsync()
    {
        _disposed = true;
        return ValueTask.CompletedTask;
    }

    /// <summary>Called under the lock by every write that may turn a valid token invalid.</summary>
    private void MoveEpoch() => Interlocked.Increment(ref _revocationEpoch);

    private int RemoveTokens(Func<Token, bool> predicate)
    {
        var doomed = _tokens.Where(t => predicate(t.Value)).Select(t => t.Key).ToList();
        foreach (var key in doomed)
        {
            _tokens.Remove(key);
        }

        return doomed.Count;
    }

    public sealed record PurgeCall(long Cutoff, int BatchSize, int Deleted);

    private sealed class Account(long id, string name, string passwordHash, bool enabled, long createdAt)
    {
        public long Id { get; } = id;

        public string Name { get; } = name;

        public string PasswordHash { get; set; } = passwordHash;

        public bool Enabled { get; set; } = enabled;

        public long CredentialStamp { get; set; } = 1;

        public long CreatedAt { get; } = createdAt;

        public bool CanIntrospect { get; set; }

        public AccountPolicy Policy { get; set; } = AccountPolicy.Default;

        public AccountRecord ToRecord() => new(Id, Name, PasswordHash, Enabled, CredentialStamp, CreatedAt, CanIntrospect) { Policy = Policy };
    }

    private sealed record Token(byte[] Digest, long AccountId, string AddressKey, byte[] Sealed, long IssuedAt, long ExpiresAt)
    {
        public StoredToken ToStored(Account account) => new(Digest, AccountId, account.Name, account.Enabled, AddressKey, IssuedAt, ExpiresAt, account.Policy.AllowedNetworks?.Text);
    }
}
