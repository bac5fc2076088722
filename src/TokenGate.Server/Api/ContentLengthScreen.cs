using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace TokenGate.Server.Api;

/// <summary>
/// Watches the bytes of a plain-HTTP/1.x connection for a <c>Content-Length</c> whose value does not start with a digit
/// (<c>+15</c>): Kestrel 10 reads <c>+15</c> as 15 and hands the body on (RFC 9110 §8.6 allows only 1*DIGIT), and once parsed
/// the header reads back as <c>15</c>, so no request middleware can tell. The screen sees every byte before Kestrel parses it and
/// marks the connection; <see cref="RequestGuards"/> then refuses every request on it with 400 before any body is read, and
/// closes it. A connection that starts with a TLS handshake is passed through unscreened: Kestrel decrypts inside this screen.
/// </summary>
public static class ContentLengthScreen
{
    // The connection item's key: an object of its own, found by reference (no string hashing per request).
    private static readonly object ItemKey = new();

    private static ReadOnlySpan<byte> HeaderName => "content-length:"u8;

    public static void UseContentLengthScreen(this ListenOptions listen) =>
        listen.Use(next => async connection =>
        {
            var state = new ScreenState();
            connection.Items[ItemKey] = state;
            var original = connection.Transport;
            connection.Transport = new ScreenedPipe(new ScreeningReader(original.Input, state), original.Output);
            try
            {
                await next(connection);
            }
            finally
            {
                connection.Transport = original;
            }
        });

    /// <summary>Whether the connection this request came on has carried a <c>Content-Length</c> that is not all digits.</summary>
    public static bool SawMalformedContentLength(HttpContext context) =>
        context.Features.Get<IConnectionItemsFeature>()?.Items.TryGetValue(ItemKey, out var state) == true && state is ScreenState { Malformed: true };

    /// <summary>True when <paramref name="bytes"/> hold a header line <c>Content-Length:</c> whose value starts with neither a digit nor the line's end.</summary>
    public static bool HoldsMalformedContentLength(ReadOnlySpan<byte> bytes)
    {
        for (var start = 0; start < bytes.Length;)
        {
            var line = bytes[start..];
            if (line.Length > HeaderName.Length && Ascii.EqualsIgnoreCase(line[..HeaderName.Length], HeaderName))
            {
                var value = line[HeaderName.Length..].TrimStart(" \t"u8);
                if (value.Length > 0 && value[0] is not (>= (byte)'0' and <= (byte)'9') and not (byte)'\r' and not (byte)'\n')
                {
                    return true;
                }
            }

            var next = line.IndexOf((byte)'\n');
            if (next < 0)
            {
                return false;
            }

            start += next + 1;
        }

        return false;
    }

    private sealed class ScreenState
    {
        public bool Decided { get; set; }

        public bool Malformed { get; set; }

        /// <summary>A TLS connection: not screened.</summary>
        public bool Passed { get; set; }
    }

    private sealed class ScreenedPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    /// <summary>
    /// Scans what the inner reader returns before Kestrel sees it. A buffer begins either where the connection began or where
    /// Kestrel stopped consuming (a line's start, while it parses headers), so each buffer is scanned from its start.
    /// </summary>
    private sealed class ScreeningReader(PipeReader inner, ScreenState state) : PipeReader
    {
        // Runs for every read of every connection: the state machine is pooled (no allocation per read) and skipped when the
        // read has completed already.
        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
        {
            var read = inner.ReadAsync(cancellationToken);
            if (read.IsCompletedSuccessfully)
            {
                var result = read.Result;
                Screen(result.Buffer);
                return new ValueTask<ReadResult>(result);
            }

            return ScreenWhenReadAsync(read);
        }

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        private async ValueTask<ReadResult> ScreenWhenReadAsync(ValueTask<ReadResult> read)
        {
            var result = await read;
            Screen(result.Buffer);
            return result;
        }

        public override bool TryRead(out ReadResult result)
        {
            if (!inner.TryRead(out result))
            {
                return false;
            }

            Screen(result.Buffer);
            return true;
        }

        public override void AdvanceTo(SequencePosition consumed) => inner.AdvanceTo(consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => inner.AdvanceTo(consumed, examined);

        public override void CancelPendingRead() => inner.CancelPendingRead();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        private void Screen(ReadOnlySequence<byte> buffer)
        {
            if (buffer.IsEmpty || state.Malformed)
            {
                return;
            }

            if (!state.Decided)
            {
                // The first byte of a TLS handshake record: the bytes are encrypted, nothing to read here.
                state.Decided = true;
                if (buffer.Slice(0, 1).FirstSpan[0] == 0x16)
                {
                    state.Passed = true;
                }
            }

            if (state.Passed)
            {
                return;
            }

            state.Malformed = buffer.IsSingleSegment ? HoldsMalformedContentLength(buffer.FirstSpan) : HoldsMalformedContentLength(buffer.ToArray());
        }
    }
}
