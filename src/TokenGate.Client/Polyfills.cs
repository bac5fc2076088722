#if !NET9_0_OR_GREATER
namespace TokenGate.Client;

/// <summary>On .NET 8 a plain object is the lock; from .NET 9 on, <c>System.Threading.Lock</c> is used instead.</summary>
internal sealed class Lock
{
}
#endif
