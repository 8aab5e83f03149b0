using Microsoft.Extensions.Hosting;

namespace Portcullis.Demo.Hosting;

// Several hosts share this process. With the default ConsoleLifetime each would catch Ctrl+C and stop
// itself in its own order; instead the owner of the DemoStack decides when everything stops.
internal sealed class EmbeddedHostLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
