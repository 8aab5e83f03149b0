using Microsoft.Extensions.DependencyInjection;

namespace Portcullis;

/// <summary>Returned by <see cref="PortcullisServiceCollectionExtensions.AddPortcullis(IServiceCollection, Microsoft.Extensions.Configuration.IConfiguration)"/> for further configuration.</summary>
public sealed class PortcullisBuilder(IServiceCollection services)
{
    public IServiceCollection Services { get; } = services;
}
