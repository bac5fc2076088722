using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;
using TokenGate.Contract;

namespace TokenGate.Server.Api;

public enum ArgumentProblem
{
    None,

    /// <summary>A value, the query string or the body is over its limit: HTTP 413.</summary>
    TooLarge,

    /// <summary>The same argument twice in one source (query or body): <c>Bad argument: name</c>.</summary>
    Repeated,

    /// <summary>The body claims to be a form but cannot be read as one: HTTP 400.</summary>
    MalformedBody,
}

/// <summary>
/// The six arguments of the token API, read from the query string and, on POST, from a urlencoded or multipart form body (a
/// body field wins over a query field of the same name). Names are matched ignoring case; each may appear once per source.
/// Unknown names are ignored, as ContactNow ignores them.
/// </summary>
public sealed class ContractArguments
{
    public const string Action = ContractArgumentNames.Action;
    public const string Username = ContractArgumentNames.Username;
    public const string Password = ContractArgumentNames.Password;
    public const string Address = ContractArgumentNames.Address;
    public const string Token = ContractArgumentNames.Token;
    public const string Format = ContractArgumentNames.Format;

    public const int MaxValueLength = 4096;
    public const int MaxQueryLength = 16 * 1024;
    public const int MaxBodyLength = 16 * 1024;

    private static readonly FormOptions FormLimits = new()
    {
        BufferBody = false,
        ValueCountLimit = 64,
        KeyLengthLimit = 256,
        ValueLengthLimit = MaxValueLength,
        MultipartBodyLengthLimit = MaxBodyLength,
        MultipartHeadersCountLimit = 8,
        MultipartHeadersLengthLimit = 2048,
        MultipartBoundaryLengthLimit = 128,
        MemoryBufferThreshold = MaxBodyLength,
    };

    private readonly string?[] _values = new string?[6];
    private readonly bool[] _fromBody = new bool[6];

    public ArgumentProblem Problem { get; private set; }

    /// <summary>The argument that was repeated, when <see cref="Problem"/> is <see cref="ArgumentProblem.Repeated"/>.</summary>
    public string? ProblemArgument { get; private set; }

    /// <summary>Which arguments came from the body (a password sent in the query string can be refused).</summary>
    public bool CameFromBody(string name) => _fromBody[IndexOf(name)];

    public string? this[string name] => _values[IndexOf(name)];

    public static async ValueTask<ContractArguments> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var arguments = new ContractArguments();
        arguments.ReadQuery(request.QueryString.Value);
        if (arguments.Problem == ArgumentProblem.TooLarge || !HttpMethods.IsPost(request.Method) || !request.HasFormContentType)
        {
            return arguments;
        }

        if (request.ContentLength > MaxBodyLength)
        {
            arguments.Problem = ArgumentProblem.TooLarge;
            return arguments;
        }

        var (form, problem) = await FormBody.ReadAsync(request, FormLimits, cancellationToken);
        if (problem != FormProblem.None)
        {
            arguments.Problem = problem == FormProblem.Malformed ? ArgumentProblem.MalformedBody : ArgumentProblem.TooLarge;
            return arguments;
        }

        foreach (var (name, values) in form!)
        {
            arguments.Accept(name, values, fromBody: true);
        }

        return arguments;
    }

    private void ReadQuery(string? query)
    {
        if (string.IsNullOrEmpty(query))
        {
            return;
        }

        if (query.Length > MaxQueryLength)
        {
            Problem = ArgumentProblem.TooLarge;
            return;
        }

        Span<bool> seen = stackalloc bool[6];
        foreach (var pair in new QueryStringEnumerable(query))
        {
            var index = IndexOf(pair.DecodeName().Span);
            if (index < 0)
            {
                continue;
            }

            if (seen[index])
            {
                Report(ArgumentProblem.Repeated, index);
                continue;
            }

            seen[index] = true;
            var value = pair.DecodeValue();
            if (value.Length > MaxValueLength)
            {
                Report(ArgumentProblem.TooLarge, index);
                continue;
            }

            _values[index] = value.ToString();
        }
    }

    /// <summary>Keeps the first problem found, but reading goes on so that the answer can still be in the format asked for.</summary>
    private void Report(ArgumentProblem problem, int index)
    {
        if (Problem == ArgumentProblem.None)
        {
            Problem = problem;
            ProblemArgument = NameAt(index);
        }
    }

    private void Accept(string name, StringValues values, bool fromBody)
    {
        var index = IndexOf(name);
        if (index < 0)
        {
            return;
        }

        if (values.Count > 1)
        {
            Report(ArgumentProblem.Repeated, index);
            return;
        }

        // The urlencoded reader enforces the value limit itself; the multipart reader does not.
        var value = values.ToString();
        if (value.Length > MaxValueLength)
        {
            Report(ArgumentProblem.TooLarge, index);
            return;
        }

        _values[index] = value;
        _fromBody[index] = fromBody;
    }

    private static int IndexOf(ReadOnlySpan<char> name) => name.Length switch
    {
        5 when name.Equals(Token, StringComparison.OrdinalIgnoreCase) => 4,
        6 when name.Equals(Action, StringComparison.OrdinalIgnoreCase) => 0,
        6 when name.Equals(Format, StringComparison.OrdinalIgnoreCase) => 5,
        7 when name.Equals(Address, StringComparison.OrdinalIgnoreCase) => 3,
        8 when name.Equals(Username, StringComparison.OrdinalIgnoreCase) => 1,
        8 when name.Equals(Password, StringComparison.OrdinalIgnoreCase) => 2,
        _ => -1,
    };

    private static string NameAt(int index) => index switch
    {
        0 => Action,
        1 => Username,
        2 => Password,
        3 => Address,
        4 => Token,
        _ => Format,
    };
}
