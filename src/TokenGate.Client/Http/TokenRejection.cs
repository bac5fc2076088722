using System.Net;
using System.Net.Http.Json;
using TokenGate.Client.Protocol;

namespace TokenGate.Client.Http;

/// <summary>
/// Tells whether a protected API's answer means "this token is no longer good": HTTP 401, or — the ContactNow way — HTTP 200
/// with a JSON or XML body whose error is <c>Expired token</c>, <c>Invalid token</c> or <c>Unknown token</c>.
/// </summary>
internal static class TokenRejection
{
    /// <summary>Bodies are looked into only this far; a token error is a few dozen bytes.</summary>
    internal const int InspectedBytes = 16 * 1024;

    /// <summary>
    /// The reason the token was refused, or null. To look into a body it reads up to <see cref="InspectedBytes"/> of it and
    /// puts back content that yields the same bytes (and headers), so the caller still reads the whole body.
    /// </summary>
    public static async ValueTask<string?> DetectAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            return "HTTP 401";
        }

        if (response.StatusCode != HttpStatusCode.OK || !MayHoldContractBody(response.Content))
        {
            return null;
        }

        var original = response.Content;
        var prefix = await BodyPrefix.ReadAsync(original, InspectedBytes, cancellationToken);
        HttpContent replacement;
        if (prefix.Complete)
        {
            replacement = new ByteArrayContent(prefix.Bytes);
        }
        else
        {
            replacement = new StreamContent(new PrefixedStream(prefix.Bytes, prefix.Stream));
        }

        foreach (var header in original.Headers)
        {
            replacement.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        response.Content = replacement;
        if (!prefix.Complete)
        {
            return null;
        }

        original.Dispose();
        return ContractReply.TryParse(prefix.Bytes, out var reply) && reply.Success != true && TokenErrors.MeansTokenRejected(reply.Error)
            ? reply.Error
            : null;
    }

    /// <summary>
    /// JSON, XML, or the text types PHP answers with by default, of known small or unknown size; never an event stream or a
    /// stream of JSON lines, whose first bytes may be long in coming.
    /// </summary>
    private static bool MayHoldContractBody(HttpContent content)
    {
        var length = content.Headers.ContentLength;
        if (length is 0 or > InspectedBytes)
        {
            return false;
        }

        var mediaType = content.Headers.ContentType?.MediaType;
        if (mediaType is null)
        {
            return length is not null;
        }

        if (mediaType.Contains("ndjson", StringComparison.OrdinalIgnoreCase)
            || mediaType.Contains("stream", StringComparison.OrdinalIgnoreCase)
            || mediaType.Contains("jsonl", StringComparison.OrdinalIgnoreCase)
            || mediaType.Contains("json-seq", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return mediaType.Contains("json", StringComparison.OrdinalIgnoreCase)
            || mediaType.Contains("xml", StringComparison.OrdinalIgnoreCase)
            || mediaType.Equals("text/html", StringComparison.OrdinalIgnoreCase)
            || mediaType.Equals("text/plain", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Whether a request's content can be sent a second time: none, or content that is held in memory.</summary>
    public static bool IsReplayable(HttpContent? content) => content switch
    {
        null => true,
        ByteArrayContent or ReadOnlyMemoryContent or JsonContent => true,
        MultipartContent parts => parts.All(IsReplayable),
        _ => false,
    };
}
