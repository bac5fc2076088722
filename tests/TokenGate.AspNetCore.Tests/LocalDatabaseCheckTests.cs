using Microsoft.Extensions.Options;
using TokenGate.Testing;

namespace TokenGate.AspNetCore.Tests;

/// <summary>
/// Local mode checks its <see cref="TokenGateOptions.Database"/> when the host starts: a path that names no file (a relative path
/// taken from another working directory, a typo) or a directory refuses the start with one message naming the full path,
/// instead of answering every request 503. Nothing is created.
/// </summary>
public sealed class LocalDatabaseCheckTests : IDisposable
{
    private readonly TempDirectory _folder = new("tokengate-local-check");

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task A_missing_database_refuses_the_start_naming_its_full_path_and_the_current_directory()
    {
        var missing = Path.Combine(_folder.Path, "data", "tokengate.db");

        var refused = await Assert.ThrowsAsync<OptionsValidationException>(() => ApiApp.StartAsync(options => options.Database = missing));

        Assert.Equal(
            $"TokenGate scheme 'TokenGate': Database: there is no TokenGate database at {missing}; start the TokenGate server first (it creates the file), or set Database to the server's --database (a relative path is from the current directory, {Directory.GetCurrentDirectory()}).",
            Assert.Single(refused.Failures));
        Assert.False(Directory.Exists(Path.Combine(_folder.Path, "data")));
    }

    [Fact]
    public async Task A_relative_database_is_resolved_from_the_current_directory_and_named_in_full()
    {
        var relative = Path.Combine("no-such-folder-" + Guid.NewGuid().ToString("N"), "tokengate.db");

        var refused = await Assert.ThrowsAsync<OptionsValidationException>(() => ApiApp.StartAsync(options => options.Database = relative));

        Assert.Contains($"there is no TokenGate database at {Path.GetFullPath(relative)};", Assert.Single(refused.Failures), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_directory_given_as_the_database_refuses_the_start_with_the_file_to_name()
    {
        var refused = await Assert.ThrowsAsync<OptionsValidationException>(() => ApiApp.StartAsync(options => options.Database = _folder.Path));

        Assert.Equal(
            $"TokenGate scheme 'TokenGate': Database '{_folder.Path}' is a directory; name the TokenGate server's database file (its --database), e.g. {Path.Combine(_folder.Path, "tokengate.db")}.",
            Assert.Single(refused.Failures));
        Assert.Empty(Directory.GetFileSystemEntries(_folder.Path));
    }

    [Fact]
    public async Task Remote_mode_does_not_look_for_a_database()
    {
        await using var api = await ApiApp.StartAsync(options =>
        {
            options.Mode = TokenGateMode.Remote;
            options.Authority = new Uri("http://127.0.0.1:9/");
            options.ClientId = "api";
            options.ClientSecret = "a secret";
            options.Database = Path.Combine(_folder.Path, "missing.db");
        });

        Assert.NotNull(api.BaseAddress);
    }
}
