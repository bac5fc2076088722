using Npgsql;

namespace TokenGate.Storage.Postgres.Tests;

/// <summary>What <c>--database</c> accepts for PostgreSQL, the defaults TokenGate adds, and that the password never leaks.</summary>
public sealed class PostgresConnectionStringTests
{
    [Theory]
    [InlineData("postgres://u:p@db.example:5433/tokens")]
    [InlineData("postgresql://db.example/tokens")]
    [InlineData("POSTGRES://db.example")]
    [InlineData("Host=db.example;Username=u;Password=p;Database=tokens")]
    [InlineData("Username=u; host = db.example")]
    [InlineData("Server=db.example;Database=tokens")]
    public void Connection_strings_select_PostgreSQL(string database) => Assert.True(PostgresConnectionString.IsConnectionString(database));

    [Theory]
    [InlineData("data/tokengate.db")]
    [InlineData("/var/lib/tokengate/host=1.db")]
    [InlineData("tokengate.db")]
    [InlineData("C:\\data\\tokengate.db")]
    [InlineData("")]
    public void Paths_stay_SQLite(string database) => Assert.False(PostgresConnectionString.IsConnectionString(database));

    [Fact]
    public void A_URI_is_read_as_libpq_reads_it()
    {
        var builder = PostgresConnectionString.Parse("postgres://tok%40gate:p%3Ass%2Fw0rd@db.example:5433/token%20db?sslmode=verify-full&application_name=edge&connect_timeout=7");

        Assert.Equal("tok@gate", builder.Username);
        Assert.Equal("p:ss/w0rd", builder.Password);
        Assert.Equal("db.example", builder.Host);
        Assert.Equal(5433, builder.Port);
        Assert.Equal("token db", builder.Database);
        Assert.Equal(SslMode.VerifyFull, builder.SslMode);
        Assert.Equal("edge", builder.ApplicationName);
        Assert.Equal(7, builder.Timeout);
    }

    [Fact]
    public void A_URI_may_name_several_hosts_and_IPv6_addresses()
    {
        var several = PostgresConnectionString.Parse("postgresql://u@primary:5432,standby:5433/tokens?target_session_attrs=read-write");
        var ipv6 = PostgresConnectionString.Parse("postgres://[::1]:6000/tokens");

        Assert.Equal("primary:5432,standby:5433", several.Host);
        Assert.Equal("read-write", several.TargetSessionAttributes);
        Assert.Equal("::1", ipv6.Host);
        Assert.Equal(6000, ipv6.Port);
    }

    [Fact]
    public void TokenGate_defaults_fill_what_the_operator_left_out_and_never_override_it()
    {
        var defaults = PostgresConnectionString.Parse("Host=db;Username=u;Database=tokens");
        var given = PostgresConnectionString.Parse("Host=db;Username=u;Database=tokens;Timeout=10;Command Timeout=30;Maximum Pool Size=100;Application Name=edge");
        var givenInUri = PostgresConnectionString.Parse("postgres://db/tokens?connect_timeout=9&Command%20Timeout=8");

        Assert.Equal(
            (PostgresConnectionString.DefaultConnectTimeout, PostgresConnectionString.DefaultCommandTimeout, PostgresConnectionString.DefaultMaxPoolSize, "tokengate"),
            (defaults.Timeout, defaults.CommandTimeout, defaults.MaxPoolSize, defaults.ApplicationName));
        Assert.Equal((10, 30, 100, "edge"), (given.Timeout, given.CommandTimeout, given.MaxPoolSize, given.ApplicationName));
        Assert.Equal((9, 8), (givenInUri.Timeout, givenInUri.CommandTimeout));

        // No session state to reset on a returned connection (Npgsql still rolls back an open transaction), unless asked.
        Assert.True(defaults.NoResetOnClose);
        Assert.False(PostgresConnectionString.Parse("Host=db;Username=u;Database=tokens;No Reset On Close=false").NoResetOnClose);
    }

    [Theory]
    [InlineData("postgres://u:s3cret-Pa55@db.example:5433/tokens", "db.example:5433/tokens")]
    [InlineData("Host=db.example;Username=u;Password=s3cret-Pa55;Database=tokens", "db.example:5432/tokens")]
    [InlineData("Host=a:5432,b:5433;Username=u;Password=s3cret-Pa55;Database=tokens", "a:5432,b:5433/tokens")]
    public void The_description_names_hosts_ports_and_database_only(string database, string expected)
    {
        var description = PostgresConnectionString.Describe(database);

        Assert.Equal(expected, description);
        Assert.DoesNotContain("s3cret", description, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Host=db;Username=u;Password=s3cret-Pa55;Port=notaport")]
    [InlineData("Host=db;Username=u;Pasword=s3cret-Pa55")]
    [InlineData("postgres://u:s3cret-Pa55@db:notaport/tokens")]
    [InlineData("postgres://u:s3cret-Pa55@db/tokens?nonsense=1")]
    [InlineData("postgres://u:s3cret-Pa55@db/tokens?sslmode")]
    [InlineData("Username=u;Password=s3cret-Pa55;Host=")]
    public void An_unusable_string_is_refused_with_a_message_that_never_holds_the_password(string database)
    {
        Assert.False(PostgresConnectionString.TryParse(database, out _, out var error));

        Assert.NotNull(error);
        Assert.DoesNotContain("s3cret", error, StringComparison.Ordinal);
    }
}
