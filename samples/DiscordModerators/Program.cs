using System.Runtime.InteropServices;

namespace Portcullis.Samples.DiscordModerators;

/// <summary>
/// <c>dotnet run --project samples/DiscordModerators</c>: the moderator dashboard against the Discord simulator (or real
/// Discord when <c>Portcullis:Providers:discord:ClientId</c> is configured; see README.md) until Ctrl+C.
/// </summary>
public static class Program
{
    public static async Task Main(string[] args)
    {
        using var stop = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);

        await using var sample = await ModeratorsApp.StartAsync(args);
        Console.WriteLine(sample.Banner());
        try
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, TimeProvider.System, stop.Token);
        }
        catch (OperationCanceledException)
        {
            Console.WriteLine("Stopping...");
        }

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }
    }
}
