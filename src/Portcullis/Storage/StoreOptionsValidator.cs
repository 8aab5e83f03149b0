using Microsoft.Extensions.Options;
using Portcullis.Configuration;

namespace Portcullis.Storage;

/// <summary>Checks <c>Portcullis:Store</c>: a known kind and a connection string its backend can parse (the message names
/// the key and never shows a password). Runs beside the configuration's own validator and reports with it.</summary>
internal sealed class StoreOptionsValidator : IValidateOptions<PortcullisOptions>
{
    public ValidateOptionsResult Validate(string? name, PortcullisOptions options)
    {
        var store = options.Store;
        var errors = new List<string>();
        if (store.Kind is not (StoreKinds.Sqlite or StoreKinds.Postgres or StoreKinds.Redis))
        {
            errors.Add($"{PortcullisOptions.SectionName}:Store:Kind '{store.Kind}' is unknown; supported: {StoreKinds.Sqlite}, {StoreKinds.Postgres}, {StoreKinds.Redis}.");
        }

        if (string.IsNullOrWhiteSpace(store.ConnectionString))
        {
            errors.Add($"{PortcullisOptions.SectionName}:Store:ConnectionString is required.");
        }
        else if (StoreRegistration.ConnectionStringProblem(store) is { } problem)
        {
            errors.Add($"{PortcullisOptions.SectionName}:Store:ConnectionString is not a valid {store.Kind} connection string: {problem}");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
