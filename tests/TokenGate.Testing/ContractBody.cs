using System.Text.Json;
using System.Xml.Linq;
using Xunit;

namespace TokenGate.Testing;

/// <summary>A token API body, parsed strictly from JSON or XML, with the order its fields came in.</summary>
public sealed record ContractBody(bool Success, string? Token, long? Expire, string? Error, IReadOnlyList<string> Fields)
{
    public static ContractBody Parse(string body, string format = "json") =>
        string.Equals(format, "xml", StringComparison.OrdinalIgnoreCase) ? ParseXml(body) : ParseJson(body);

    public static ContractBody ParseJson(string body)
    {
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        Assert.Equal(JsonValueKind.Object, root.ValueKind);
        var fields = root.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal("success", fields.FirstOrDefault());
        Assert.All(fields, f => Assert.Contains(f, new[] { "success", "token", "expire", "error" }));
        Assert.Equal(fields.Count, fields.Distinct().Count());
        return new ContractBody(
            root.GetProperty("success").GetBoolean(),
            root.TryGetProperty("token", out var token) ? token.GetString() : null,
            root.TryGetProperty("expire", out var expire) ? expire.GetInt64() : null,
            root.TryGetProperty("error", out var error) ? error.GetString() : null,
            fields);
    }

    public static ContractBody ParseXml(string body)
    {
        var document = XDocument.Parse(body);
        var root = document.Root!;
        Assert.Equal("result", root.Name.LocalName);
        var fields = root.Elements().Select(e => e.Name.LocalName).ToList();
        Assert.Equal("success", fields.FirstOrDefault());
        Assert.All(fields, f => Assert.Contains(f, new[] { "success", "token", "expire", "error" }));
        Assert.Equal(fields.Count, fields.Distinct().Count());
        var success = root.Element("success")!.Value;
        Assert.Contains(success, new[] { "0", "1" });
        return new ContractBody(
            success == "1",
            root.Element("token")?.Value,
            root.Element("expire") is { } expire ? long.Parse(expire.Value, System.Globalization.CultureInfo.InvariantCulture) : null,
            root.Element("error")?.Value,
            fields);
    }
}
