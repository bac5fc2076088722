using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using TokenGate.Testing;

namespace TokenGate.Server.Tests;

/// <summary>Brute force, user enumeration, credentials in query strings, the password policy and TLS.</summary>
public sealed class HardeningTests
{
    private static readonly Dictionary<string, string?> FastThrottle = new()
    {
        ["LoginThrottle"] = "true",
        ["LoginDelayAfter"] = "3",
        ["LoginBlockAfter"] = "10",
        ["LoginDelayAfterPerClient"] = "20",
        ["LoginBlockAfterPerClient"] = "40",
        ["LoginMaxDelay"] = "300ms",
        ["LoginWindow"] = "15m",
    };

    [Fact]
    public async Task A_scripted_attack_from_one_address_is_slowed_then_refused_while_the_real_user_gets_a_token_at_once_from_another()
    {
        await using var server = await TokenGateTestServer.StartAsync(FastThrottle);
        await server.CreateAccountAsync("victim", "the real password");
        using var attackerHttp = server.CreateClient(LoopbackClient.Second);
        var realUser = new TokenApiClient(server.CreateClient(LoopbackClient.First));
        var attacker = new TokenApiClient(attackerHttp);

        var durations = new List<TimeSpan>();
        var statuses = new List<HttpStatusCode>();
        var retryAfters = new List<TimeSpan?>();
        for (var attempt = 0; attempt < 300; attempt++)
        {
            var watch = Stopwatch.StartNew();
            var (response, body) = await attacker.SendAsync(("action", "get"), ("username", "victim"), ("password", $"guess-{attempt:D4}"));
            durations.Add(watch.Elapsed);
            statuses.Add(response.StatusCode);
            retryAfters.Add(response.Headers.RetryAfter?.Delta);
            Assert.False(body.Success);
            Assert.Equal(response.StatusCode == HttpStatusCode.TooManyRequests ? "Too many requests" : "Authentication failure", body.Error);
        }

        var realWatch = Stopwatch.StartNew();
        var real = await realUser.GetTokenAsync("victim", "the real password");
        var realDuration = realWatch.Elapsed;

        // The first attempts are answered at once, the next ones wait longer and longer, then every one is refused.
        Assert.All(durations.Take(3), d => Assert.True(d < TimeSpan.FromMilliseconds(200), $"{d}"));
        Assert.True(durations[4] >= TimeSpan.FromMilliseconds(240), $"{durations[4]}");
        Assert.True(durations[5] > durations[3]);
        Assert.Equal(Enumerable.Repeat(HttpStatusCode.OK, 10), statuses.Take(10));
        Assert.All(statuses.Skip(10), s => Assert.Equal(HttpStatusCode.TooManyRequests, s));
        Assert.All(retryAfters.Skip(10), r => Assert.InRange(r!.Value, TimeSpan.FromMinutes(14), TimeSpan.FromMinutes(15)));
        Assert.True(server.Metrics.Requests("get") >= 300);

        Assert.True(real.Success);
        Assert.True(realDuration < TimeSpan.FromMilliseconds(500), $"The real user waited {realDuration}.");
    }

    [Fact]
    public async Task Spraying_many_usernames_from_one_address_is_refused_per_address_and_the_refusal_keeps_the_asked_format()
    {
        await using var server = await TokenGateTestServer.StartAsync(FastThrottle);
        await server.CreateAccountAsync("someone", "someone's password");
        var attacker = new TokenApiClient(server.CreateClient(LoopbackClient.Second), format: "xml");

        HttpResponseMessage? last = null;
        for (var attempt = 0; attempt < 45; attempt++)
        {
            (last, _) = await attacker.SendAsync(("action", "get"), ("username", $"user{attempt}"), ("password", "password123"));
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, last!.StatusCode);
        Assert.Equal("application/xml", last.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Too many requests", ContractBody.ParseXml(await last.Content.ReadAsStringAsync()).Error);

        // Another address, even for a username the attacker tried, is untouched.
        Assert.True((await new TokenApiClient(server.CreateClient(LoopbackClient.First)).GetTokenAsync("someone", "someone's password")).Success);
    }

    [Fact]
    public async Task A_successful_login_clears_that_users_count_from_that_address()
    {
        await using var server = await TokenGateTestServer.StartAsync(FastThrottle);
        await server.CreateAccountAsync("forgetful", "the right password");
        var client = new TokenApiClient(server.CreateClient());

        // 6 rounds of 2 misses: 12 failures in all, past the block threshold (10) had they been added up.
        for (var round = 0; round < 6; round++)
        {
            for (var miss = 0; miss < 2; miss++)
            {
                Assert.Equal("Authentication failure", (await client.GetTokenAsync("forgetful", "wrong")).Error);
            }

            var watch = Stopwatch.StartNew();
            Assert.True((await client.GetTokenAsync("forgetful", "the right password")).Success);
            Assert.True(watch.Elapsed < TimeSpan.FromMilliseconds(200), $"{watch.Elapsed}");
        }
    }

    [Fact]
    public async Task Newpass_with_guessed_tokens_is_throttled_per_address()
    {
        await using var server = await TokenGateTestServer.StartAsync(FastThrottle);
        var client = new TokenApiClient(server.CreateClient(LoopbackClient.Second));

        HttpResponseMessage? last = null;
        for (var attempt = 0; attempt < 12; attempt++)
        {
            (last, _) = await client.SendAsync(("action", "newpass"), ("token", RandomNumberGenerator.GetHexString(40, lowercase: true)), ("password", "a new password"));
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, last!.StatusCode);
    }

    [Fact]
    public async Task With_require_post_credentials_a_password_in_the_query_string_is_refused_and_a_body_password_works()
    {
        await using var server = await TokenGateTestServer.StartAsync(new Dictionary<string, string?> { ["RequirePostCredentials"] = "true" });
        await server.CreateAccountAsync("careful", "careful password");
        var query = new TokenApiClient(server.CreateClient(), mode: SendMode.Get);
        var body = new TokenApiClient(server.CreateClient(), mode: SendMode.PostForm);

        Assert.Equal("Bad argument: password", (await query.GetTokenAsync("careful", "careful password")).Error);
        var issued = await body.GetTokenAsync("careful", "careful password");
        Assert.True(issued.Success);
        Assert.True((await query.ValidateAsync(issued.Token!)).Success);
        Assert.Equal("Bad argument: password", (await query.NewPasswordAsync(issued.Token!, "another careful password")).Error);
        Assert.True((await body.NewPasswordAsync(issued.Token!, "another careful password")).Success);
    }

    [Fact]
    public async Task The_password_policy_is_configurable()
    {
        await using var server = await TokenGateTestServer.StartAsync(new Dictionary<string, string?> { ["PasswordMinLength"] = "12", ["PasswordMaxLength"] = "20" });
        await server.CreateAccountAsync("policy", "twelve chars");
        var client = new TokenApiClient(server.CreateClient());
        var token = (await client.GetTokenAsync("policy", "twelve chars")).Token!;

        Assert.Equal("Bad argument: password", (await client.NewPasswordAsync(token, "eleven char")).Error);
        Assert.Equal("Bad argument: password", (await client.NewPasswordAsync(token, new string('x', 21))).Error);
        Assert.True((await client.NewPasswordAsync(token, "twelve chars!")).Success);
    }

    [Theory]
    [InlineData("pem")]
    [InlineData("pfx")]
    public async Task Serve_over_https_with_a_certificate_given_as_pem_or_pfx(string kind)
    {
        using var directory = new TempDirectory();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var settings = new Dictionary<string, string?> { ["Urls"] = "https://127.0.0.1:0" };
        if (kind == "pem")
        {
            await File.WriteAllTextAsync(directory.File("cert.pem"), certificate.ExportCertificatePem());
            await File.WriteAllTextAsync(directory.File("key.pem"), key.ExportPkcs8PrivateKeyPem());
            settings["Certificate"] = directory.File("cert.pem");
            settings["CertificateKey"] = directory.File("key.pem");
        }
        else
        {
            await File.WriteAllBytesAsync(directory.File("cert.pfx"), certificate.Export(X509ContentType.Pfx, "pfx password"));
            settings["Certificate"] = directory.File("cert.pfx");
            settings["CertificatePassword"] = "pfx password";
        }

        await using var server = await TokenGateTestServer.StartAsync(settings);
        await server.CreateAccountAsync("tls", "tls password");
        var handler = LoopbackClient.CreateHandler(LoopbackClient.First);
        X509Certificate2? presented = null;
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) =>
        {
            presented = cert is null ? null : X509CertificateLoader.LoadCertificate(cert.GetRawCertData());
            return presented?.Thumbprint == certificate.Thumbprint;
        };
        using var http = new HttpClient(handler) { BaseAddress = server.BaseAddress };
        var client = new TokenApiClient(http, mode: SendMode.PostForm);

        var issued = await client.GetTokenAsync("tls", "tls password");

        Assert.Equal("https", server.BaseAddress.Scheme);
        Assert.True(issued.Success);
        Assert.True((await client.ValidateAsync(issued.Token!)).Success);
        Assert.Equal(certificate.Thumbprint, presented?.Thumbprint);
    }

    [Fact]
    public async Task Past_the_connection_cap_new_connections_are_closed_unanswered_and_served_again_once_one_closes()
    {
        await using var server = await TokenGateTestServer.StartAsync(new Dictionary<string, string?> { ["MaxConnections"] = "3" });
        var idle = new List<System.Net.Sockets.TcpClient>();
        for (var i = 0; i < 3; i++)
        {
            var connection = new System.Net.Sockets.TcpClient();
            await connection.ConnectAsync(IPAddress.Loopback, server.BaseAddress.Port, TestContext.Current.CancellationToken);
            idle.Add(connection);

            // Kestrel takes a slot when it dispatches a connection, not when the kernel completes the handshake, and the
            // dispatches run on the thread pool in any order: one answered keep-alive request proves this one holds its slot.
            await AnswerOneKeepAliveRequestAsync(connection);
        }

        try
        {
            // The three idle connections hold every slot: a fourth is closed without an answer.
            Assert.Equal(string.Empty, await ValidateOverNewConnectionAsync(server.BaseAddress));

            idle[0].Dispose();
            var deadline = Stopwatch.StartNew();
            string answer;
            while ((answer = await ValidateOverNewConnectionAsync(server.BaseAddress)).Length == 0 && deadline.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(50, TestContext.Current.CancellationToken);
            }

            Assert.StartsWith("HTTP/1.1 200 OK", answer, StringComparison.Ordinal);
            Assert.EndsWith("""{"success":false,"error":"Invalid token"}""", answer, StringComparison.Ordinal);
        }
        finally
        {
            idle.ForEach(c => c.Dispose());
        }
    }

    private static async Task AnswerOneKeepAliveRequestAsync(System.Net.Sockets.TcpClient connection)
    {
        var stream = connection.GetStream();
        await stream.WriteAsync("GET /token.php?action=validate&token=0123456789012345678901234567890123456789 HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray(), TestContext.Current.CancellationToken);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var received = new System.Text.StringBuilder();
        var buffer = new byte[1024];
        while (!received.ToString().EndsWith("}", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            Assert.NotEqual(0, read);
            received.Append(System.Text.Encoding.ASCII.GetString(buffer, 0, read));
        }

        Assert.StartsWith("HTTP/1.1 200 OK", received.ToString(), StringComparison.Ordinal);
    }

    /// <summary>A validate over a new connection; everything the server sent before closing it (empty when it sent nothing).</summary>
    private static async Task<string> ValidateOverNewConnectionAsync(Uri baseAddress)
    {
        using var connection = new System.Net.Sockets.TcpClient();
        await connection.ConnectAsync(IPAddress.Loopback, baseAddress.Port, TestContext.Current.CancellationToken);
        var stream = connection.GetStream();
        var request = "GET /token.php?action=validate&token=0123456789012345678901234567890123456789 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"u8.ToArray();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await stream.WriteAsync(request, timeout.Token);
            using var received = new MemoryStream();
            await stream.CopyToAsync(received, timeout.Token);
            return System.Text.Encoding.ASCII.GetString(received.ToArray());
        }
        catch (IOException)
        {
            // Reset by the server: nothing was answered.
            return string.Empty;
        }
    }
}
