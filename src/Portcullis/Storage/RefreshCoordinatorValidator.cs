using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Portcullis.Configuration;

namespace Portcullis.Storage;

/// <summary>
/// <c>Session:StatelessRefreshCoordinator</c> set (in stateless mode; <c>SessionModeValidator</c> refuses it
/// elsewhere) needs a coordinator registered (<c>AddRedisRefreshCoordinator()</c>) that accepts the connection string:
/// otherwise start-up stops naming the key rather than running without the coordination the operator asked for.
/// </summary>
internal sealed class RefreshCoordinatorValidator(IServiceProvider services) : IValidateOptions<PortcullisOptions>
{
    private const string Key = PortcullisOptions.SectionName + ":Session:StatelessRefreshCoordinator";

    public ValidateOptionsResult Validate(string? name, PortcullisOptions options)
    {
        if (string.IsNullOrEmpty(options.Session.StatelessRefreshCoordinator) || options.Session.Mode != SessionModes.Stateless)
        {
            return ValidateOptionsResult.Success;
        }

        if (services.GetServices<IRefreshCoordinator>().LastOrDefault() is not { } coordinator)
        {
            return ValidateOptionsResult.Fail($"{Key} is set but no refresh coordinator is registered: reference Portcullis.Storage.Redis and call AddRedisRefreshCoordinator() on AddPortcullis(...).");
        }

        return coordinator.FindConfigurationProblem(options.Session.StatelessRefreshCoordinator) is { } problem
            ? ValidateOptionsResult.Fail($"{Key} is not usable: {problem}")
            : ValidateOptionsResult.Success;
    }
}
