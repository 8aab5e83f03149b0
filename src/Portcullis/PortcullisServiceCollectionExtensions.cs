using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Portcullis.Agent;
using Portcullis.Agent.Presets;
using Portcullis.Configuration;
using Portcullis.Http;
using Portcullis.Proxy;
using Portcullis.Sessions;
using Portcullis.Storage;
using Portcullis.Tokens;
using Portcullis.Vault;
using Portcullis.Vault.KeyRing;

namespace Portcullis;

public static class PortcullisServiceCollectionExtensions
{
    /// <summary>
    /// Adds the token handler, bound to <paramref name="configuration"/> (usually the <c>Portcullis</c> section).
    /// The whole section is validated when the host starts; a wrong key stops start-up with a message naming it.
    /// </summary>
    public static PortcullisBuilder AddPortcullis(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<PortcullisOptions>()
            .Bind(configuration, binder => binder.ErrorOnUnknownConfiguration = true)
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<PortcullisOptions>, PortcullisPostConfigureOptions>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<PortcullisOptions>, ProviderPresetPostConfigure>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PortcullisOptions>, PortcullisOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PortcullisOptions>, SessionModeValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PortcullisOptions>, RefreshCoordinatorValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PortcullisOptions>, ProviderPresetOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PortcullisOptions>, ClientSigningKeyValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PortcullisOptions>, AssertionKeysValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PortcullisOptions>, KeyProtectionOptionsValidator>());

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ReloadableOptions>();
        Diagnostics.SecretRedactingLoggerFactory.Register(services);
        services.AddHttpClient(ProviderRegistry.HttpClientName, client => client.Timeout = TimeSpan.FromSeconds(10))
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });
        services.AddHttpClient(ProviderRegistry.TokenRequestClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });

        AddVault(services);
        // Stateless (ADR 0033): logins in progress ride in the browser's cookies; registered before the store's own.
        services.TryAddSingleton<StatelessLoginTransactions>();
        services.TryAddSingleton<ILoginTransactionStore>(p =>
            p.GetRequiredService<IOptions<PortcullisOptions>>().Value.Session.Mode == SessionModes.Stateless
                ? p.GetRequiredService<StatelessLoginTransactions>()
                : p.GetRequiredService<IPortcullisStore>());
        StoreRegistration.Add(services);
        services.AddHostedService<StoreInitializer>();
        services.AddHostedService<Vault.KeyRing.KeyRingStartup>(); // after the store's schema exists
        services.AddHostedService<ProviderRequirementsCheck>();

        services.TryAddSingleton<ProviderRegistry>();
        services.TryAddSingleton<ProviderClient>();
        services.TryAddSingleton<IdTokenValidator>();
        services.TryAddSingleton<IntrospectionCache>();
        services.TryAddSingleton<BearerTokenVerifier>();
        services.TryAddSingleton<ProviderIdentityReader>();
        services.TryAddSingleton<OAuthAgent>();
        services.TryAddSingleton<SessionCookies>();
        services.TryAddSingleton<SessionService>();
        services.TryAddSingleton(sp => new SessionKeyMemo(sp.GetRequiredService<IOptions<PortcullisOptions>>().Value.Session.CacheSize));
        services.TryAddSingleton<StatelessSessions>();
        services.TryAddSingleton<StatelessRefresh>();
        services.TryAddSingleton<SessionTokens>();
        services.TryAddSingleton<SessionAnomalyDetector>();
        services.TryAddSingleton<GrantService>();
        services.TryAddSingleton<RevocationService>();
        services.TryAddSingleton<RevocationQueue>();
        services.AddHostedService<RevocationWorker>();
        services.TryAddSingleton<SessionTermination>();
        services.AddHostedService<UnusedGrantSweep>();
        services.TryAddSingleton<PendingGrantSaves>();
        services.TryAddSingleton<AccessTokenService>();
        services.TryAddSingleton<IUserTokens, UserTokens>();
        services.TryAddSingleton<LogoutTokenValidator>();
        services.TryAddSingleton(p => new Audit.AuditLog(
            p.GetRequiredService<IAuditStore>(), p.GetRequiredService<TimeProvider>(), p.GetRequiredService<ILogger<Audit.AuditLog>>()));
        services.TryAddSingleton<ClientTokenService>();
        services.TryAddSingleton<CsrfGuard>();
        GatewayRateLimiting.Add(services);
        services.AddHttpForwarder();
        services.TryAddSingleton<IdentityAssertions>();
        services.TryAddSingleton<BearerPassThrough>();
        services.TryAddSingleton<ProxyAdmission>();
        services.TryAddSingleton<ApiProxy>();
        services.TryAddSingleton<ApiRouteTable>();
        services.TryAddSingleton<ForwardAuth>();
        Authorization.PortcullisAuthenticationSetup.Add(services);
        PortcullisCors.Add(services);
        return new PortcullisBuilder(services);
    }

    private static void AddVault(IServiceCollection services)
    {
        DataProtectionSetup.Configure(services);
        Vault.KeyRing.KeyRingSetup.Configure(services);
        services.TryAddSingleton<Vault.KeyRing.Reencryptor>();
        services.TryAddSingleton<EmailLookupHasher>();
        services.TryAddSingleton(p => new RecordProtector<TokenSet>(p.GetRequiredService<Microsoft.AspNetCore.DataProtection.IDataProtectionProvider>(), ProtectionPurposes.Tokens, VaultJsonContext.Default.TokenSet, p.GetRequiredService<TimeProvider>(), p.GetService<Vault.KeyRing.KeyRingChangeSignal>()));
        services.TryAddSingleton(p => new RecordProtector<SessionData>(p.GetRequiredService<Microsoft.AspNetCore.DataProtection.IDataProtectionProvider>(), ProtectionPurposes.SessionData, SessionsJsonContext.Default.SessionData, p.GetRequiredService<TimeProvider>(), p.GetService<Vault.KeyRing.KeyRingChangeSignal>()));
        services.TryAddSingleton<StatelessCookieCodec>();
        services.TryAddSingleton(p => new RecordProtector<LoginTransactionData>(p.GetRequiredService<Microsoft.AspNetCore.DataProtection.IDataProtectionProvider>(), ProtectionPurposes.LoginTransaction, AgentJsonContext.Default.LoginTransactionData, p.GetRequiredService<TimeProvider>(), p.GetService<Vault.KeyRing.KeyRingChangeSignal>()));
        services.TryAddSingleton(p => new RecordProtector<PendingToken>(p.GetRequiredService<Microsoft.AspNetCore.DataProtection.IDataProtectionProvider>(), ProtectionPurposes.PendingRevocation, TokensJsonContext.Default.PendingToken, p.GetRequiredService<TimeProvider>(), p.GetService<Vault.KeyRing.KeyRingChangeSignal>()));
    }
}
