using System.Text;

namespace TokenGate.OperatorConsole;

/// <summary><c>GET /console/audit.csv</c>: the entries the audit page's filters select, newest first, as CSV (<see cref="AuditCsv"/>).</summary>
internal static class AuditExport
{
    private const int Batch = 1000;

    public static async Task WriteAsync(HttpContext context, AuditService audit)
    {
        var filter = AuditFilter.FromQuery(context.Request.Query);
        if (filter.Errors is { Count: > 0 } errors)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync(string.Join("\n", errors), context.RequestAborted);
            return;
        }

        context.Response.ContentType = "text/csv; charset=utf-8";
        context.Response.Headers.ContentDisposition = "attachment; filename=\"tokengate-audit.csv\"";
        var writer = new StreamWriter(context.Response.Body, new UTF8Encoding(false), leaveOpen: true);
        await using (writer)
        {
            await writer.WriteAsync(AuditCsv.Header + "\r\n");
            var query = filter.Query(Batch);
            var written = 0;
            while (written < AuditFilter.ExportLimit)
            {
                var page = await audit.SearchAsync(query, context.RequestAborted);
                foreach (var record in page)
                {
                    await writer.WriteAsync(AuditCsv.Line(record) + "\r\n");
                }

                written += page.Count;
                if (page.Count < Batch)
                {
                    break;
                }

                query = query with { BeforeId = page[^1].Id };
            }
        }
    }
}
