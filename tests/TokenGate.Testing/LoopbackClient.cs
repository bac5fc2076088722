using System.Net;
using System.Net.Sockets;

namespace TokenGate.Testing;

/// <summary>HTTP clients whose connections leave from a chosen loopback source address (127.0.0.1 or 127.0.0.2), so a test
/// can play two different client IPs against one server.</summary>
public static class LoopbackClient
{
    public static readonly IPAddress First = IPAddress.Parse("127.0.0.1");
    public static readonly IPAddress Second = IPAddress.Parse("127.0.0.2");

    public static HttpClient Create(Uri baseAddress, IPAddress? source = null, TimeSpan? timeout = null)
    {
        var handler = CreateHandler(source ?? First);
        return new HttpClient(handler) { BaseAddress = baseAddress, Timeout = timeout ?? TimeSpan.FromSeconds(30) };
    }

    public static SocketsHttpHandler CreateHandler(IPAddress source) => new()
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(1),
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(source.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Bind(new IPEndPoint(source, 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };
}
