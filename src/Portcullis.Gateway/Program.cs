using Microsoft.Extensions.Options;
using Portcullis.Gateway;

try
{
    if (GatewayHelp.IsHelp(args))
    {
        Console.WriteLine(GatewayHelp.Text);
        return 0;
    }

    if (GatewayCommands.IsCommand(args))
    {
        return await GatewayCommands.RunAsync(args);
    }

    var app = GatewayApp.Create(args);
    await app.RunAsync();
    return 0;
}
catch (Exception exception) when (exception is OptionsValidationException or GatewayConfigurationException or InvalidOperationException)
{
    // Misconfiguration: say which keys are wrong and stop (SECURITY.md item 34).
    Console.Error.WriteLine("Portcullis cannot start because of its configuration:");
    var messages = exception is OptionsValidationException validation ? validation.Failures : MessageChain(exception);
    foreach (var message in messages)
    {
        Console.Error.WriteLine($"  - {message}");
    }

    return 2;
}

// The binder names an unknown key only in an inner exception's message.
static IEnumerable<string> MessageChain(Exception exception)
{
    for (var current = exception; current is not null; current = current.InnerException)
    {
        yield return current.Message;
    }
}
