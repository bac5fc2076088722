namespace TokenGate.Storage;

/// <summary>
/// What checking a token needs of a store, and no more: <see cref="TokenValidator"/> depends on this alone, so an API that only
/// accepts tokens opens a store for reading and holds neither the sealing key nor the password hasher.
/// </summary>
public interface ITokenLookupStore
{
    /// <summary>The token with this digest, with its account's name and state; null when there is none.</summary>
    ValueTask<StoredToken?> FindTokenAsync(ReadOnlyMemory<byte> digest, CancellationToken cancellationToken);

    /// <summary>
    /// The revocation epoch: a number that moves (in the same transaction) whenever any process deletes a token, changes a
    /// password, or disables, removes or revokes the tokens of an account, or changes its policy. In-memory caches are valid only under the epoch they
    /// were filled in. Called on every request, so it must be cheap; null when the store cannot tell now (caches are then
    /// bypassed).
    /// </summary>
    long? ObserveRevocationEpoch();
}
