using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace TokenGate.Testing;

/// <summary>A logging provider that keeps every formatted line (with its exception and scopes) for the test to search.</summary>
public sealed class CapturedLogs : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<string> _lines = new();
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public IReadOnlyCollection<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => new CapturingLogger(this, categoryName);

    /// <summary>
    /// The lines that <paramref name="select"/> keeps, once there are at least <paramref name="count"/> of them. A line written after
    /// the response (the request log's, for one) can reach the log after the client has read the answer, so a test waits for it.
    /// </summary>
    public async Task<List<string>> WaitForAsync(Func<string, bool> select, int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var lines = _lines.Where(select).ToList();
            if (lines.Count >= count || DateTime.UtcNow >= deadline)
            {
                return lines;
            }

            await Task.Delay(20);
        }
    }

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    private sealed class CapturingLogger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => owner._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var scopes = new List<string>();
            owner._scopes.ForEachScope((scope, list) => list.Add(scope?.ToString() ?? string.Empty), scopes);
            var structured = state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? string.Join(";", pairs.Select(p => $"{p.Key}={p.Value}"))
                : string.Empty;
            owner._lines.Enqueue($"{logLevel} {category}[{eventId.Id}] {formatter(state, exception)} | {structured} | {string.Join(" => ", scopes)} | {exception}");
        }
    }
}
