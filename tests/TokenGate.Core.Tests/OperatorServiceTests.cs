using TokenGate.Accounts;
using TokenGate.Core.Tests.Fakes;
using TokenGate.Operators;
using TokenGate.Storage;
using TokenGate.Testing;

namespace TokenGate.Core.Tests;

/// <summary>Console operators: adding, passwords, removing, and checking a password at the console's login.</summary>
public sealed class OperatorServiceTests
{
    private readonly ManualTimeProvider _time = new();
    private readonly InMemoryTokenGateStore _store = new();
    private readonly CountingPasswordHasher _hasher = new();
    private readonly OperatorService _operators;

    public OperatorServiceTests()
    {
        _operators = new OperatorService(_store, _hasher, PasswordPolicy.Default, _time);
    }

    [Fact]
    public async Task Add_with_a_password_stores_its_hash_and_the_time()
    {
        var change = await _operators.AddAsync("admin", "a strong passphrase", CancellationToken.None);

        Assert.Equal(AccountChange.Done(), change);
        var found = await _operators.FindAsync("admin", CancellationToken.None);
        Assert.Equal((CountingPasswordHasher.HashOf("a strong passphrase"), _time.UnixNow), (found!.PasswordHash, found.CreatedAt));
        Assert.Equal([new OperatorSummary("admin", _time.UnixNow)], await _operators.ListAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Add_without_a_password_generates_one_that_is_returned_once_and_verifies()
    {
        var change = await _operators.AddAsync("admin", null, CancellationToken.None);

        Assert.Equal(AccountChangeStatus.Done, change.Status);
        Assert.True(PasswordPolicy.Default.Accepts(change.GeneratedPassword, "admin"));
        Assert.NotNull(await _operators.VerifyAsync("admin", change.GeneratedPassword!, CancellationToken.None));
    }

    [Theory]
    [InlineData("password")]
    [InlineData("short")]
    [InlineData("Admin.Ops")]
    public async Task Add_refuses_a_common_or_short_password_and_one_equal_to_the_name(string password)
    {
        var change = await _operators.AddAsync("admin.ops", password, CancellationToken.None);

        Assert.Equal(AccountChange.PasswordRejected, change);
        Assert.Empty(await _operators.ListAsync(CancellationToken.None));
    }

    [Theory]
    [InlineData("")]
    [InlineData("bad name")]
    [InlineData("ad/min")]
    public async Task Add_refuses_a_name_account_names_may_not_have(string name)
    {
        Assert.Equal(AccountChange.InvalidName, await _operators.AddAsync(name, "a strong passphrase", CancellationToken.None));
    }

    [Fact]
    public async Task Add_of_a_taken_name_ignoring_case_names_the_existing_operator()
    {
        await _operators.AddAsync("Admin", "a strong passphrase", CancellationToken.None);

        var change = await _operators.AddAsync("admin", "another passphrase", CancellationToken.None);

        Assert.Equal(AccountChangeStatus.Duplicate, change.Status);
        Assert.Equal("Admin", change.ExistingName);
    }

    [Fact]
    public async Task An_api_account_of_the_same_name_is_not_an_operator()
    {
        _store.AddAccount("admin", CountingPasswordHasher.HashOf("a strong passphrase"));

        Assert.Null(await _operators.VerifyAsync("admin", "a strong passphrase", CancellationToken.None));
        Assert.Null(await _operators.FindAsync("admin", CancellationToken.None));
    }

    [Fact]
    public async Task Set_password_changes_the_credential_stamp_so_console_sessions_end()
    {
        await _operators.AddAsync("admin", "a strong passphrase", CancellationToken.None);
        var before = await _operators.FindAsync("admin", CancellationToken.None);

        var change = await _operators.SetPasswordAsync("admin", null, CancellationToken.None);

        var after = await _operators.FindAsync("admin", CancellationToken.None);
        Assert.NotNull(change.GeneratedPassword);
        Assert.NotEqual(before!.CredentialStamp, after!.CredentialStamp);
        Assert.Null(await _operators.VerifyAsync("admin", "a strong passphrase", CancellationToken.None));
        Assert.NotNull(await _operators.VerifyAsync("admin", change.GeneratedPassword, CancellationToken.None));
        Assert.Equal(AccountChange.UnknownAccount, await _operators.SetPasswordAsync("nobody", "a strong passphrase", CancellationToken.None));
        Assert.Equal(AccountChange.PasswordRejected, await _operators.SetPasswordAsync("admin", "admin", CancellationToken.None));
    }

    [Fact]
    public async Task Remove_deletes_the_operator_and_says_when_there_was_none()
    {
        await _operators.AddAsync("admin", "a strong passphrase", CancellationToken.None);

        Assert.Equal(AccountChange.Done(), await _operators.RemoveAsync("admin", CancellationToken.None));
        Assert.Equal(AccountChange.UnknownAccount, await _operators.RemoveAsync("admin", CancellationToken.None));
        Assert.Null(await _operators.VerifyAsync("admin", "a strong passphrase", CancellationToken.None));
    }

    [Fact]
    public async Task Verify_returns_the_operator_only_for_the_right_password_and_exact_name()
    {
        await _operators.AddAsync("admin", "a strong passphrase", CancellationToken.None);

        var found = await _operators.VerifyAsync("admin", "a strong passphrase", CancellationToken.None);

        Assert.Equal("admin", found!.Name);
        Assert.Null(await _operators.VerifyAsync("admin", "a wrong passphrase", CancellationToken.None));
        Assert.Null(await _operators.VerifyAsync("ADMIN", "a strong passphrase", CancellationToken.None));
    }

    [Theory]
    [InlineData("nobody", "a strong passphrase")]
    [InlineData("bad name", "a strong passphrase")]
    [InlineData("admin", "")]
    public async Task Verify_of_an_unknown_name_or_an_empty_password_costs_one_verification_against_a_dummy_hash(string name, string password)
    {
        await _operators.AddAsync("admin", "a strong passphrase", CancellationToken.None);

        Assert.Null(await _operators.VerifyAsync(name, password, CancellationToken.None));

        var verified = Assert.Single(_hasher.VerifiedHashes);
        Assert.NotEqual(CountingPasswordHasher.HashOf("a strong passphrase"), verified);
    }
}
