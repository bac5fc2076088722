using TokenGate.Accounts;
using TokenGate.Testing;

namespace TokenGate.Core.Tests;

/// <summary>The shipped common-password list and the policy's use of it (issue 25, item 1).</summary>
public sealed class CommonPasswordTests
{
    [Fact]
    public void The_list_holds_at_least_ten_thousand_passwords_that_meet_the_default_length_policy()
    {
        var path = RepositoryPaths.Of("src", "TokenGate.Core", "Accounts", "Data", "common-passwords.txt");
        var lines = File.ReadAllLines(path).Where(line => line.Length > 0).ToList();
        var meetingLength = lines.Count(line => line.Length >= PasswordPolicy.Default.MinLength && line.Length <= PasswordPolicy.Default.MaxLength);

        Assert.True(meetingLength >= 10_000, $"only {meetingLength} entries of 8 to 128 characters");
        Assert.Equal(lines.Distinct(StringComparer.OrdinalIgnoreCase).Count(), CommonPasswords.Count);
        Assert.All(lines, line => Assert.True(CommonPasswords.Contains(line), line));
    }

    [Theory]
    [InlineData("password")]
    [InlineData("password1")]
    [InlineData("Password1")]
    [InlineData("12345678")]
    [InlineData("qwertyuiop")]
    [InlineData("QWERTYUIOP")]
    [InlineData("iloveyou")]
    [InlineData("1q2w3e4r")]
    public void A_common_password_is_refused_whatever_its_case(string password)
    {
        Assert.True(CommonPasswords.Contains(password));
        Assert.False(PasswordPolicy.Default.Accepts(password));
        Assert.False(PasswordPolicy.Default.Accepts(password, "someone"));
    }

    [Theory]
    [InlineData("correct-horse")]
    [InlineData("a new password, long enough")]
    [InlineData("Tr0ub4dor&3-but-longer")]
    public void A_password_off_the_list_is_accepted(string password)
    {
        Assert.False(CommonPasswords.Contains(password));
        Assert.True(PasswordPolicy.Default.Accepts(password, "someone"));
    }

    [Theory]
    [InlineData("service-account", "service-account")]
    [InlineData("service-account", "SERVICE-Account")]
    public void The_account_s_own_name_is_refused_as_its_password(string name, string password)
    {
        Assert.True(PasswordPolicy.Default.Accepts(password));
        Assert.False(PasswordPolicy.Default.Accepts(password, name));
    }

    [Fact]
    public void A_generated_password_is_never_refused()
    {
        for (var i = 0; i < 200; i++)
        {
            Assert.True(PasswordPolicy.Default.Accepts(PasswordPolicy.Default.Generate(), "someone"));
        }
    }
}
