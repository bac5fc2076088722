using Microsoft.AspNetCore.Http.Features;

namespace TokenGate.Server.Api;

/// <summary>What went wrong reading a form body.</summary>
public enum FormProblem
{
    None,

    /// <summary>The body is over the request's size limit (Kestrel's 413).</summary>
    TooLarge,

    /// <summary>The form readers refused it for passing one of the <see cref="FormOptions"/> limits (a value, a count).</summary>
    OverLimit,

    /// <summary>Not readable as a form: bad chunking, cut short, malformed multipart, or a charset the runtime refuses (utf-7).</summary>
    Malformed,
}

/// <summary>Reads a form body under explicit limits, turning every way a client can send a bad one into a <see cref="FormProblem"/>.</summary>
public static class FormBody
{
    public static async ValueTask<(IFormCollection? Form, FormProblem Problem)> ReadAsync(HttpRequest request, FormOptions limits, CancellationToken cancellationToken)
    {
        try
        {
            request.HttpContext.Features.Set<IFormFeature>(new FormFeature(request, limits));
            return (await request.ReadFormAsync(cancellationToken), FormProblem.None);
        }
        catch (BadHttpRequestException exception) when (exception.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, FormProblem.TooLarge);
        }
        catch (InvalidDataException exception)
        {
            // The form readers say "limit" when a limit was passed; anything else is a malformed body.
            return (null, exception.Message.Contains("limit", StringComparison.OrdinalIgnoreCase) ? FormProblem.OverLimit : FormProblem.Malformed);
        }
        catch (IOException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, FormProblem.Malformed);
        }
        catch (NotSupportedException)
        {
            return (null, FormProblem.Malformed);
        }
    }
}
