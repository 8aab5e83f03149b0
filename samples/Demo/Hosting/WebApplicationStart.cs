using Microsoft.AspNetCore.Builder;

namespace Portcullis.Demo.Hosting;

internal static class WebApplicationStart
{
    // A host that fails to start (port taken, bad configuration) is not handed to anyone who could
    // dispose it, so it disposes itself.
    public static async Task<WebApplication> StartOrDisposeAsync(this WebApplication app, CancellationToken ct)
    {
        try
        {
            await app.StartAsync(ct);
            return app;
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }
}
