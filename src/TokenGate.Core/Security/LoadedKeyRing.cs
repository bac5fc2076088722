using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace TokenGate.Security;

/// <summary>
/// The key ring a process uses now, shared by its <see cref="TokenTagger"/> and <see cref="AesGcmTokenSealer"/>, and replaced
/// whole by <see cref="Replace"/> (a server's SIGHUP): a request sees the old ring or the new one, never a mix. Each key's
/// derived tag key and its pool of AES-GCM instances are made once and kept across replacements for as long as the key stays.
/// </summary>
public sealed class LoadedKeyRing
{
    private volatile Snapshot _current;

    public LoadedKeyRing(SealingKeyRing ring) => _current = new Snapshot(ring, previous: null);

    public SealingKeyRing Ring => _current.Ring;

    /// <summary>Uses <paramref name="ring"/> from now on.</summary>
    public void Replace(SealingKeyRing ring) => _current = new Snapshot(ring, _current);

    internal Snapshot Current => _current;

    /// <summary>One key's derived material: the tag key (HKDF of the sealing key) and a pool of AES-GCM instances under the sealing key.</summary>
    internal sealed class Entry
    {
        // An AesGcm instance must not be used by two threads at once, and building one costs a key schedule: keep a small pool.
        private readonly ConcurrentBag<AesGcm> _pool = [];
        private readonly byte[] _key;

        public Entry(RingKey key)
        {
            Id = key.Id;
            Fingerprint = key.Key!.Id;
            _key = key.Key.Bytes;
            TagKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, _key, SealingKey.Length, salt: [], info: Encoding.ASCII.GetBytes(TokenTagger.DerivationLabel));
        }

        public byte Id { get; }

        public byte[] Fingerprint { get; }

        public byte[] TagKey { get; }

        public AesGcm Rent(int tagLength) => _pool.TryTake(out var aes) ? aes : new AesGcm(_key, tagLength);

        public void Return(AesGcm aes)
        {
            if (_pool.Count < Environment.ProcessorCount * 2)
            {
                _pool.Add(aes);
            }
            else
            {
                aes.Dispose();
            }
        }

        public void Dispose()
        {
            while (_pool.TryTake(out var aes))
            {
                aes.Dispose();
            }
        }
    }

    internal sealed class Snapshot
    {
        private readonly Entry?[] _byId = new Entry?[256];
        private readonly Dictionary<uint, Entry> _byFingerprint = [];

        public Snapshot(SealingKeyRing ring, Snapshot? previous)
        {
            Ring = ring;
            foreach (var key in ring.Keys.Where(k => k.Key is not null))
            {
                var fingerprint = BinaryPrimitives.ReadUInt32BigEndian(key.Key!.Id);
                var entry = previous is not null && previous._byFingerprint.TryGetValue(fingerprint, out var kept) && kept.Id == key.Id ? kept : new Entry(key);
                _byId[key.Id] = entry;
                _byFingerprint[fingerprint] = entry;
                if (key.State == SealingKeyState.Active)
                {
                    Active = entry;
                }
            }

            if (Active is null)
            {
                throw new SealingKeyException("The key ring has no active key.");
            }
        }

        public SealingKeyRing Ring { get; }

        public Entry Active { get; } = null!;

        public IEnumerable<Entry> Entries => _byFingerprint.Values;

        public Entry? ById(byte id) => _byId[id];

        public Entry? ByFingerprint(ReadOnlySpan<byte> fingerprint) =>
            _byFingerprint.TryGetValue(BinaryPrimitives.ReadUInt32BigEndian(fingerprint), out var entry) ? entry : null;
    }
}
