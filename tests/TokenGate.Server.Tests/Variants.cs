using TokenGate.Testing;

namespace TokenGate.Server.Tests;

/// <summary>Every way a client can reach the API: both paths, GET and both POST encodings, JSON and XML.</summary>
public static class Variants
{
    public static TheoryData<string, SendMode, string> All()
    {
        var data = new TheoryData<string, SendMode, string>();
        foreach (var path in new[] { "token.php", "api/token.php" })
        {
            foreach (var mode in Enum.GetValues<SendMode>())
            {
                foreach (var format in new[] { "json", "xml" })
                {
                    data.Add(path, mode, format);
                }
            }
        }

        return data;
    }
}
