using System.Buffers;
using System.Text.Json;

namespace TokenGate.Server.Api;

/// <summary>
/// RFC 8414 authorization server metadata at <c>/.well-known/oauth-authorization-server</c>, so that standard OAuth2 clients
/// configure themselves: the issuer, the token, revocation and introspection endpoints, the one grant type and the client
/// authentication methods of <see cref="OAuth2Endpoints"/>. The issuer is the URL the request came to (scheme, host and path
/// base, after the trusted-proxy rule), as RFC 8414 §3.3 has clients check it against the URL they asked.
/// </summary>
public static class OAuth2Metadata
{
    public const string Path = "/.well-known/oauth-authorization-server";

    private static readonly string[] ClientAuthentication = ["client_secret_basic", "client_secret_post"];

    public static async Task WriteAsync(HttpContext context)
    {
        var request = context.Request;
        var issuer = $"{request.Scheme}://{request.Host}{request.PathBase}";
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("issuer", issuer);
            json.WriteString("token_endpoint", issuer + "/oauth2/token");
            json.WriteString("revocation_endpoint", issuer + "/oauth2/revoke");
            json.WriteString("introspection_endpoint", issuer + "/oauth2/introspect");
            WriteArray(json, "grant_types_supported", ["client_credentials"]);
            WriteArray(json, "response_types_supported", []);
            WriteArray(json, "token_endpoint_auth_methods_supported", ClientAuthentication);
            WriteArray(json, "revocation_endpoint_auth_methods_supported", ClientAuthentication);
            WriteArray(json, "introspection_endpoint_auth_methods_supported", ClientAuthentication);
            json.WriteString("service_documentation", issuer + "/docs");
            json.WriteEndObject();
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = buffer.WrittenCount;
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }

    private static void WriteArray(Utf8JsonWriter json, string name, string[] values)
    {
        json.WriteStartArray(name);
        foreach (var value in values)
        {
            json.WriteStringValue(value);
        }

        json.WriteEndArray();
    }
}
