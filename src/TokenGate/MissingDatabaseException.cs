namespace TokenGate.Cli;

/// <summary>
/// An operator command other than <c>account add</c> named a SQLite file that does not exist: a mistyped <c>--database</c>, or a
/// command run from another directory than the server's. Creating an empty database there would answer "No accounts" about the
/// wrong file, so the command refuses instead and names the path it looked at.
/// </summary>
internal sealed class MissingDatabaseException(string fullPath)
    : Exception($"there is no TokenGate database at {fullPath}; check --database (a relative path is from the current directory), or create it with 'tokengate account add NAME' or 'tokengate serve'.")
{
    public string FullPath { get; } = fullPath;
}
