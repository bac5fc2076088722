using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using TokenGate.Testing;

namespace TokenGate.Server.Tests;

/// <summary><c>Strict-Transport-Security</c> on HTTPS, never on HTTP (issue 25, item 4).</summary>
public sealed class StrictTransportSecurityTests
{
    [Theory]
    [InlineData(null, "max-age=31536000")]
    [InlineData("1d", "max-age=86400")]
    [InlineData("0", "max-age=0")]
    public async Task Every_https_answer_carries_strict_transport_security_with_the_configured_max_age(string? maxAge, string expected)
    {
        using var directory = new TempDirectory();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        await File.WriteAllTextAsync(directory.File("cert.pem"), certificate.ExportCertificatePem(), TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(directory.File("key.pem"), key.ExportPkcs8PrivateKeyPem(), TestContext.Current.CancellationToken);
        var settings = new Dictionary<string, string?>
        {
            ["Urls"] = "https://127.0.0.1:0", ["Certificate"] = directory.File("cert.pem"), ["CertificateKey"] = directory.File("key.pem"),
        };
        if (maxAge is not null)
        {
            settings["HstsMaxAge"] = maxAge;
        }

        await using var server = await TokenGateTestServer.StartAsync(settings);
        var handler = LoopbackClient.CreateHandler(LoopbackClient.First);
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) => cert is not null && cert.GetCertHashString() == certificate.Thumbprint;
        using var http = new HttpClient(handler) { BaseAddress = server.BaseAddress };

        foreach (var path in new[] { "token.php?action=validate&token=nothing", "healthz", "no-such-page", "docs" })
        {
            using var response = await http.GetAsync(path, TestContext.Current.CancellationToken);
            Assert.True(response.Headers.TryGetValues("Strict-Transport-Security", out var values), path);
            Assert.Equal([expected], values);
        }
    }

    [Fact]
    public async Task Plain_http_answers_carry_no_strict_transport_security()
    {
        await using var server = await TokenGateTestServer.StartAsync();
        using var http = server.CreateClient();

        foreach (var path in new[] { "token.php?action=validate&token=nothing", "healthz", "no-such-page" })
        {
            using var response = await http.GetAsync(path, TestContext.Current.CancellationToken);
            Assert.False(response.Headers.Contains("Strict-Transport-Security"), path);
        }
    }
}
