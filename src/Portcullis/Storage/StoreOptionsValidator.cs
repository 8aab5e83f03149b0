using Microsoft.Extensions.Options;
using Portcullis.Configuration;

namespace Portcullis.Storage;

/// <summary>
/// Checks <c>Portcullis:Store</c> against the backends that were registered: the kind must have one, and its
/// connection string must be present and parse (the message names the key, never the password). Runs beside the
/// section's other validators, so every error is reported at once.
/// </summary>
internal sealed class StoreOptionsValidator(IEnumerable<IStoreBackend> backends) : IValidateOptions<PortcullisOptions>
{
    private const string Key = PortcullisOptions.SectionName + ":Store";

    // The kinds Portcullis ships, named in the message whether or not their package is referenced.
    private static readonly string[] KnownKinds = [StoreKinds.Sqlite, StoreKinds.Postgres, StoreKinds.Redis];

    public ValidateOptionsResult Validate(string? name, PortcullisOptions options)
    {
        var store = options.Store;
        var errors = new List<string>();
        var backend = backends.LastOrDefault(b => b.Kind == store.Kind);
        if (backend is null)
        {
            errors.Add(KnownKinds.Contains(store.Kind)
                ? $"{Key}:Kind '{store.Kind}' has no backend registered: reference its package (Portcullis.Storage.PostgreSql or Portcullis.Storage.Redis) and call AddPostgreSqlStore() or AddRedisStore() on AddPortcullis(...)."
                : $"{Key}:Kind '{store.Kind}' is unknown; supported: {string.Join(", ", KnownKinds)}.");
        }

        if (string.IsNullOrWhiteSpace(store.ConnectionString))
        {
            errors.Add($"{Key}:ConnectionString is required.");
        }
        else if (backend?.FindConnectionStringProblem(store.ConnectionString) is { } problem)
        {
            errors.Add($"{Key}:ConnectionString is not a valid {store.Kind} connection string: {problem}");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
