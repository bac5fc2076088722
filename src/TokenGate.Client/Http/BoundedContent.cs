using System.Buffers;

namespace TokenGate.Client.Http;

/// <summary>The start of a response body, read without trusting the server to keep it small.</summary>
internal readonly record struct BodyPrefix(byte[] Bytes, bool Complete, Stream Stream)
{
    /// <summary>
    /// Reads <paramref name="content"/> until it ends or more than <paramref name="limit"/> bytes have come. When it has not
    /// ended, <see cref="Stream"/> is positioned right after <see cref="Bytes"/>, so the caller can stitch the two together.
    /// </summary>
    public static async ValueTask<BodyPrefix> ReadAsync(HttpContent content, int limit, CancellationToken cancellationToken)
    {
        var stream = await content.ReadAsStreamAsync(cancellationToken);
        var buffer = ArrayPool<byte>.Shared.Rent(limit + 1);
        try
        {
            var length = 0;
            while (length <= limit)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(length, limit + 1 - length), cancellationToken);
                if (read == 0)
                {
                    return new BodyPrefix(buffer.AsSpan(0, length).ToArray(), Complete: true, stream);
                }

                length += read;
            }

            return new BodyPrefix(buffer.AsSpan(0, length).ToArray(), Complete: false, stream);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
