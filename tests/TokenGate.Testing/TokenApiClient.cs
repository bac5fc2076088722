using System.Net.Http.Headers;

namespace TokenGate.Testing;

/// <summary>How a test sends the token API's arguments: in the query string, as a urlencoded form, or as multipart.</summary>
public enum SendMode
{
    Get,
    PostForm,
    PostMultipart,
}

/// <summary>Calls token.php with the arguments given, in the chosen way and format, and parses the contract body.</summary>
public sealed class TokenApiClient(HttpClient http, string path = "token.php", SendMode mode = SendMode.Get, string format = "json")
{
    public HttpClient Http => http;

    public string Format => format;

    public async Task<(HttpResponseMessage Response, ContractBody Body)> SendAsync(params (string Name, string Value)[] arguments)
    {
        var all = format == "json" ? arguments : [.. arguments, ("format", format)];
        using var request = Build(all);
        var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response, ContractBody.Parse(text, format));
    }

    public async Task<ContractBody> CallAsync(params (string Name, string Value)[] arguments) => (await SendAsync(arguments)).Body;

    public Task<ContractBody> GetTokenAsync(string username, string password, string? address = null) =>
        address is null
            ? CallAsync(("action", "get"), ("username", username), ("password", password))
            : CallAsync(("action", "get"), ("username", username), ("password", password), ("address", address));

    public Task<ContractBody> ValidateAsync(string token) => CallAsync(("action", "validate"), ("token", token));

    public Task<ContractBody> DeleteAsync(string token) => CallAsync(("action", "delete"), ("token", token));

    public Task<ContractBody> NewPasswordAsync(string token, string password) => CallAsync(("action", "newpass"), ("token", token), ("password", password));

    private HttpRequestMessage Build((string Name, string Value)[] arguments)
    {
        switch (mode)
        {
            case SendMode.Get:
                var query = string.Join("&", arguments.Select(a => $"{Uri.EscapeDataString(a.Name)}={Uri.EscapeDataString(a.Value)}"));
                return new HttpRequestMessage(HttpMethod.Get, $"{path}?{query}");
            case SendMode.PostForm:
                return new HttpRequestMessage(HttpMethod.Post, path)
                {
                    Content = new FormUrlEncodedContent(arguments.Select(a => new KeyValuePair<string, string>(a.Name, a.Value))),
                };
            default:
                var multipart = new MultipartFormDataContent();
                foreach (var (name, value) in arguments)
                {
                    var part = new StringContent(value);
                    part.Headers.ContentType = null;
                    multipart.Add(part, name);
                }

                return new HttpRequestMessage(HttpMethod.Post, path) { Content = multipart };
        }
    }
}

public static class MediaTypes
{
    public static string? Of(HttpResponseMessage response) => response.Content.Headers.ContentType is MediaTypeHeaderValue type ? $"{type.MediaType}; charset={type.CharSet}" : null;
}
