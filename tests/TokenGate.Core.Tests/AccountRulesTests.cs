using TokenGate.Accounts;

namespace TokenGate.Core.Tests;

/// <summary>What an account name and a password must be, and the passwords TokenGate generates.</summary>
public sealed class AccountRulesTests
{
    [Theory]
    [InlineData("a")]
    [InlineData("Z")]
    [InlineData("7")]
    [InlineData("alice")]
    [InlineData("Alice")]
    [InlineData("user.name_x@example-1.com")]
    [InlineData("._@-")]
    [InlineData("0123456789012345678901234567890123456789012345678901234567890123")]
    public void An_account_name_of_1_to_64_letters_digits_and_dot_underscore_at_hyphen_is_valid(string name)
    {
        Assert.True(AccountName.IsValid(name));
    }

    [Theory]
    [InlineData("")]
    [InlineData("01234567890123456789012345678901234567890123456789012345678901234")]
    [InlineData("user name")]
    [InlineData(" alice")]
    [InlineData("alice ")]
    [InlineData("alice\n")]
    [InlineData("al\0ice")]
    [InlineData("al/ice")]
    [InlineData("al+ice")]
    [InlineData("al,ice")]
    [InlineData("al:ice")]
    [InlineData("al'ice")]
    [InlineData("al\"ice")]
    [InlineData("al%ice")]
    [InlineData("alice*")]
    [InlineData("us\u00e9r")]
    [InlineData("\u0391lice")]
    [InlineData("\u0661")]
    [InlineData("\uff41lice")]
    public void Any_other_account_name_is_invalid(string name)
    {
        Assert.False(AccountName.IsValid(name));
    }

    [Fact]
    public void The_longest_valid_name_is_64_characters()
    {
        Assert.Equal(64, AccountName.MaxLength);
        Assert.True(AccountName.IsValid(new string('x', 64)));
        Assert.False(AccountName.IsValid(new string('x', 65)));
    }

    [Fact]
    public void The_default_password_policy_allows_8_to_128_characters()
    {
        var policy = PasswordPolicy.Default;

        Assert.False(policy.Accepts(new string('p', 7)));
        Assert.True(policy.Accepts("tg-ppppp"));

        // 8 characters, but on the common-password list.
        Assert.False(policy.Accepts(new string('p', 8)));
        Assert.True(policy.Accepts(new string('p', 128)));
        Assert.False(policy.Accepts(new string('p', 129)));
        Assert.False(policy.Accepts(string.Empty));
        Assert.False(policy.Accepts(null));
    }

    [Theory]
    [InlineData("correct horse battery staple")]
    [InlineData("pässwörd-with-ünïcödé")]
    [InlineData("        ")]
    [InlineData("p@$$w0rd!#%&*")]
    public void A_password_of_printable_characters_within_the_limits_is_accepted(string password)
    {
        Assert.True(PasswordPolicy.Default.Accepts(password));
    }

    [Theory]
    [InlineData("password\n1")]
    [InlineData("password\t1")]
    [InlineData("password\0")]
    [InlineData("\u0007password")]
    [InlineData("password\u007f")]
    [InlineData("password\u0085")]
    public void A_password_with_a_control_character_is_rejected(string password)
    {
        Assert.False(PasswordPolicy.Default.Accepts(password));
    }

    [Fact]
    public void A_custom_policy_applies_its_own_limits()
    {
        var policy = new PasswordPolicy(minLength: 12, maxLength: 16);

        Assert.False(policy.Accepts(new string('p', 11)));
        Assert.True(policy.Accepts(new string('p', 12)));
        Assert.True(policy.Accepts(new string('p', 16)));
        Assert.False(policy.Accepts(new string('p', 17)));
        Assert.Equal($"12 to 16 characters, no control characters, not one of the {CommonPasswords.Count:N0} most common passwords nor the account's name", policy.Describe());
    }

    [Theory]
    [InlineData(0, 10)]
    [InlineData(-1, 10)]
    [InlineData(10, 9)]
    public void A_policy_with_impossible_limits_cannot_be_made(int minLength, int maxLength)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new PasswordPolicy(minLength, maxLength));
    }

    [Fact]
    public void Generated_passwords_are_accepted_and_differ()
    {
        var policy = PasswordPolicy.Default;

        var passwords = Enumerable.Range(0, 1_000).Select(_ => policy.Generate()).ToList();

        Assert.All(passwords, password =>
        {
            Assert.True(policy.Accepts(password));
            Assert.Equal(28, password.Length);
            Assert.Matches("^[A-Za-z2-9]+$", password);
        });
        Assert.Equal(passwords.Count, passwords.Distinct(StringComparer.Ordinal).Count());
    }

    [Theory]
    [InlineData(40, 64, 40)]
    [InlineData(8, 16, 16)]
    [InlineData(1, 28, 28)]
    [InlineData(28, 28, 28)]
    public void Generated_passwords_fit_a_custom_policy(int minLength, int maxLength, int expectedLength)
    {
        var policy = new PasswordPolicy(minLength, maxLength);

        var password = policy.Generate();

        Assert.Equal(expectedLength, password.Length);
        Assert.True(policy.Accepts(password));
    }
}
