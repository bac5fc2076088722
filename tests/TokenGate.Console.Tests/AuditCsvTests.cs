namespace TokenGate.OperatorConsole.Tests;

public sealed class AuditCsvTests
{
    [Theory]
    [InlineData("alice", "alice")]
    [InlineData("a,b", "\"a,b\"")]
    [InlineData("say \"hi\"", "\"say \"\"hi\"\"\"")]
    [InlineData("two\nlines", "\"two\nlines\"")]
    [InlineData("=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\"")]
    [InlineData("+1", "'+1")]
    [InlineData("-1", "'-1")]
    [InlineData("@SUM(A1)", "'@SUM(A1)")]
    [InlineData("\tx", "'\tx")]
    [InlineData("", "")]
    [InlineData(null, "")]
    public void A_field_is_quoted_when_it_must_be_and_never_read_as_a_formula(string? value, string expected) =>
        Assert.Equal(expected, AuditCsv.Field(value));

    [Fact]
    public void A_line_has_every_column_of_the_header_in_order()
    {
        var line = AuditCsv.Line(new AuditRecord(7, new AuditEntry(1_796_000_000, "pay,roll", "192.0.2.7", "account.add", "done", null, "admin")));
        Assert.Equal("7,2026-11-30T00:53:20Z,\"pay,roll\",192.0.2.7,account.add,done,,admin", line);
        Assert.Equal(8, AuditCsv.Header.Split(',').Length);
    }
}
