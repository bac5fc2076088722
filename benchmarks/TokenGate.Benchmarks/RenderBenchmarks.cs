using System.Buffers;
using BenchmarkDotNet.Attributes;
using TokenGate.Contract;

namespace TokenGate.Benchmarks;

/// <summary>Writing a contract body. The endpoint allocates a fresh 128-byte ArrayBufferWriter per response; here one is reused.</summary>
[MemoryDiagnoser]
public class RenderBenchmarks
{
    private static readonly ContractResponse Validated = new(true, Expire: 1510515149);
    private static readonly ContractResponse Issued = new(true, "13036ea7949b5f5bea79ca1d4c76cc2d56e2d9e8", 1510514548);
    private static readonly ContractResponse Invalid = ContractResponse.Failure(ContractErrors.InvalidToken);
    private readonly ArrayBufferWriter<byte> _buffer = new(256);

    [Benchmark(Description = "render validate JSON")]
    public int ValidateJson() => Render(Validated, ContractFormat.Json);

    [Benchmark(Description = "render validate XML")]
    public int ValidateXml() => Render(Validated, ContractFormat.Xml);

    [Benchmark(Description = "render get JSON (with token)")]
    public int GetJson() => Render(Issued, ContractFormat.Json);

    [Benchmark(Description = "render Invalid token JSON")]
    public int InvalidJson() => Render(Invalid, ContractFormat.Json);

    private int Render(ContractResponse response, ContractFormat format)
    {
        _buffer.ResetWrittenCount();
        response.Render(format, _buffer);
        return _buffer.WrittenCount;
    }
}
