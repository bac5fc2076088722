using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using TokenGate.Server.Hosting;
using TokenGate.Testing;

namespace TokenGate.Server.Tests;

/// <summary>
/// A forged token (right length, wrong tag) is refused by every action that takes a token with today's answer, and never reaches
/// the store: the store is wrapped in a counter of the calls that reach a token by its digest.
/// </summary>
public sealed class ForgedTokenTests
{
    private const string Password = "holder password";
    private const string IntrospectorPassword = "introspector password";

    [Fact]
    public async Task A_forged_token_is_refused_by_validate_delete_newpass_introspect_and_revoke_without_reaching_the_store()
    {
        OutageStore? counting = null;
        await using var server = await TokenGateTestServer.StartAsync(customize: services =>
            services.AddSingleton<Storage.ITokenGateStore>(provider => counting = new OutageStore(TokenGateStores.Create(provider.GetRequiredService<TokenGateSettings>().Database))));
        await server.CreateAccountAsync("holder", Password);
        await server.CreateAccountAsync("introspector", IntrospectorPassword);
        await server.Accounts.SetIntrospectionAsync("introspector", true, CancellationToken.None);
        using var http = server.CreateClient();
        var api = new TokenApiClient(http);
        var token = (await api.GetTokenAsync("holder", Password)).Token!;
        Assert.True((await api.ValidateAsync(token)).Success);
        var before = counting!.TokenCalls;
        Assert.True(before >= 1, "checking the real token reached the store: the counter counts");

        foreach (var forged in new[] { TokenValues.WithFlippedTagBit(token), TokenValues.WithFlippedTagBit(token, bit: 7), TokenValues.Untagged() })
        {
            var validate = await api.ValidateAsync(forged);
            var delete = await api.DeleteAsync(forged);
            var newpass = await api.NewPasswordAsync(forged, "another password");
            var (introspectResponse, introspect) = await PostAsync(http, "oauth2/introspect", forged, Basic("introspector", IntrospectorPassword));
            var (revokeResponse, _) = await PostAsync(http, "oauth2/revoke", forged, Basic("holder", Password));

            Assert.Equal((false, "Invalid token"), (validate.Success, validate.Error));
            Assert.Equal((false, "Invalid token"), (delete.Success, delete.Error));
            Assert.Equal((false, "Invalid token"), (newpass.Success, newpass.Error));
            Assert.Equal((HttpStatusCode.OK, "{\"active\":false}"), (introspectResponse.StatusCode, introspect));
            Assert.Equal(HttpStatusCode.OK, revokeResponse.StatusCode);
        }

        Assert.Equal(before, counting.TokenCalls);
        Assert.True((await api.ValidateAsync(token)).Success);
    }

    private static AuthenticationHeaderValue Basic(string id, string secret) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{id}:{secret}")));

    private static async Task<(HttpResponseMessage Response, string Body)> PostAsync(HttpClient http, string path, string token, AuthenticationHeaderValue auth)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }) };
        request.Headers.Authorization = auth;
        var response = await http.SendAsync(request);
        return (response, await response.Content.ReadAsStringAsync());
    }
}
