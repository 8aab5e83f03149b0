using Portcullis;

namespace Portcullis.Gateway;

/// <summary>
/// Operators' commands, given as the first argument instead of running the server:
/// <c>migrate</c> (create or update the store's schema), <c>rotate-keys</c> (add a new encryption key, active at once)
/// and <c>reencrypt</c> (move every stored value to the newest key). They read the same configuration as the server.
/// </summary>
public static class GatewayCommands
{
    public static bool IsCommand(string[] args) => args.Length > 0 && args[0] is "migrate" or "rotate-keys" or "reencrypt";

    public static async Task<int> RunAsync(string[] args)
    {
        var command = args[0];
        await using var app = GatewayApp.Create(args[1..]);
        switch (command)
        {
            case "migrate":
                await PortcullisAdministration.MigrateAsync(app.Services);
                Console.WriteLine("The store's schema is up to date.");
                break;
            case "rotate-keys":
                var (keyId, activation) = await PortcullisAdministration.RotateKeysAsync(app.Services);
                Console.WriteLine($"Created key {keyId}, active from {activation:O}. Nodes pick it up within KeyProtection:RefreshInterval; then run `reencrypt`.");
                break;
            default:
                var report = await PortcullisAdministration.ReencryptAsync(app.Services);
                Console.WriteLine(
                    $"Re-encrypted {report.Reencrypted} value(s); {report.AlreadyCurrent} already used the newest key; "
                    + $"{report.ChangedMeanwhile} changed meanwhile; {report.Unreadable} unreadable (left as they are).");
                break;
        }

        return 0;
    }
}
