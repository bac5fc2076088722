using System.Net;

namespace TokenGate.Server.Hosting;

/// <summary>
/// Where the operator console (src/TokenGate.Console) answers; bound from the <c>Console</c> and <c>ConsoleUrls</c> settings.
/// The console itself is not part of this project: the executable adds it (<see cref="ITokenGateExtension"/>), and this only
/// decides where it goes, so that <c>config show</c> and the tests can tell without building it.
/// </summary>
public sealed class ConsoleOptions
{
    /// <summary><c>--console</c> (a flag: it can only say true) or <c>TOKENGATE_CONSOLE</c>: true turns the console on where it
    /// is off by default, false turns it off; unset, it is on only when every address the server listens on is loopback.</summary>
    public bool? Enabled { get; set; }

    /// <summary><c>--console-urls</c>: a listener of its own for the console (';'-separated URLs); the API's listener then never
    /// serves it.</summary>
    public string? Urls { get; set; }

    /// <summary>The console's path on either listener.</summary>
    public const string Path = "/console";

    /// <summary>
    /// The decision: a listener of its own when <see cref="Urls"/> is given (unless <c>--console false</c>); the API's listener
    /// when <c>--console</c> says so or, unsaid, when every address in <paramref name="apiUrls"/> is loopback; else nowhere.
    /// </summary>
    public ConsolePlacement Placement(string apiUrls) =>
        Enabled == false ? ConsolePlacement.Off
        : Urls is { Length: > 0 } ? ConsolePlacement.OwnListener
        : Enabled == true || ListensOnLoopbackOnly(apiUrls) ? ConsolePlacement.ApiListener
        : ConsolePlacement.Off;

    /// <summary>Whether every URL of <paramref name="urls"/> (';' or ','-separated) names a loopback host (127.0.0.0/8, [::1],
    /// localhost); a wildcard (<c>*</c>, <c>+</c>, <c>0.0.0.0</c>, <c>[::]</c>), another host or a Unix socket is not.</summary>
    public static bool ListensOnLoopbackOnly(string urls)
    {
        foreach (var url in urls.Split(';', ',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(url.Replace("://*", "://wildcard", StringComparison.Ordinal).Replace("://+", "://wildcard", StringComparison.Ordinal), UriKind.Absolute, out var uri))
            {
                return false;
            }

            var host = uri.Host.Trim('[', ']');
            var loopback = string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
                || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
            if (!loopback)
            {
                return false;
            }
        }

        return true;
    }
}

public enum ConsolePlacement
{
    /// <summary>Not served: <c>/console</c> is the contract's 404 like any unknown path.</summary>
    Off,

    /// <summary>At <c>/console</c> on the API's own listener (<c>--urls</c>).</summary>
    ApiListener,

    /// <summary>At <c>/console</c> on a listener of its own (<c>--console-urls</c>) and nowhere else.</summary>
    OwnListener,
}

/// <summary>
/// A part of the server built outside TokenGate.Server (the operator console), which the executable adds without this project
/// referencing it: register an instance as a singleton in <c>BuildAsync</c>'s <c>customize</c>; the server calls
/// <see cref="AddServices"/> once its settings are read and <see cref="Map"/> after its own middleware, before its endpoints.
/// </summary>
public interface ITokenGateExtension
{
    void AddServices(Microsoft.AspNetCore.Builder.WebApplicationBuilder builder, TokenGateSettings settings);

    void Map(Microsoft.AspNetCore.Builder.WebApplication app, TokenGateSettings settings);
}
