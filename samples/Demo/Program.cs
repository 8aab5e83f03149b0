using System.Runtime.InteropServices;

namespace Portcullis.Demo;

/// <summary>
/// <c>dotnet run --project samples/Demo</c>: starts the demo stack on the default ports and runs
/// until Ctrl+C. Public so test projects can reference this assembly's entry point.
/// </summary>
public sealed class Program
{
    private Program()
    {
    }

    /// <summary>Runs the demo.</summary>
    public static async Task Main()
    {
        using var stop = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);

        await using var stack = await DemoStack.StartAsync(new DemoStackOptions(), stop.Token);
        Console.WriteLine(Banner.For(stack));

        try
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, TimeProvider.System, stop.Token);
        }
        catch (OperationCanceledException)
        {
            Console.WriteLine("Stopping the demo...");
        }

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }
    }
}
