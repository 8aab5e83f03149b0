using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Portcullis.Diagnostics;

namespace Portcullis.Configuration;

/// <summary>
/// The options whose changes apply without a restart: API routes (<c>Apis</c>) and <c>Csrf:AllowedOrigins</c>. When the
/// configuration source reports a change (a JSON file added with <c>reloadOnChange</c>), the whole section is bound,
/// post-configured and validated again exactly as at start-up; a configuration that fails is logged with every failure
/// (each names its key) and the one in force stays. Everything else is read once at start: changing a provider, the
/// store or the keys needs a restart (docs/configuration.md says so).
/// </summary>
/// <remarks>
/// Why not <see cref="IOptionsMonitor{TOptions}"/>: it validates inside the change callback and throws there, so a bad
/// edit would surface as an unobserved exception on a file-watcher thread instead of a refused reload.
/// </remarks>
internal sealed class ReloadableOptions : IDisposable
{
    private readonly IOptionsFactory<PortcullisOptions> _factory;
    private readonly ILogger<ReloadableOptions> _logger;
    private readonly List<IDisposable> _subscriptions = [];
    private readonly Lock _gate = new();
    private CancellationTokenSource _changed = new();
    private volatile PortcullisOptions _current;

    /// <summary>Starts from the options validated at start-up and follows every change source bound to them.</summary>
    public ReloadableOptions(
        IOptions<PortcullisOptions> startup,
        IOptionsFactory<PortcullisOptions> factory,
        IEnumerable<IOptionsChangeTokenSource<PortcullisOptions>> sources,
        ILogger<ReloadableOptions> logger)
    {
        _current = startup.Value;
        _factory = factory;
        _logger = logger;
        foreach (var source in sources.Where(s => s.Name == Options.DefaultName))
        {
            _subscriptions.Add(ChangeToken.OnChange(source.GetChangeToken, Reload));
        }
    }

    /// <summary>The options in force: a validated snapshot that never changes once handed out.</summary>
    public PortcullisOptions Current => _current;

    /// <summary>Fires once after the next accepted reload; ask again for the one after.</summary>
    public IChangeToken GetChangeToken()
    {
        lock (_gate)
        {
            return new CancellationChangeToken(_changed.Token);
        }
    }

    /// <summary>Builds and validates the changed configuration; swaps it in only when it is valid.</summary>
    public void Reload()
    {
        PortcullisOptions candidate;
        try
        {
            candidate = _factory.Create(Options.DefaultName);
        }
        catch (OptionsValidationException refused)
        {
            Log.ConfigurationReloadRefused(_logger, string.Join(" ", refused.Failures));
            return;
        }
        catch (InvalidOperationException unreadable)
        {
            // The binder refuses an unknown key or a value of the wrong type; its message names the key.
            Log.ConfigurationReloadRefused(_logger, unreadable.GetBaseException().Message);
            return;
        }

        CancellationTokenSource fired;
        lock (_gate)
        {
            _current = candidate;
            fired = _changed;
            _changed = new CancellationTokenSource();
        }

        Log.ConfigurationReloaded(_logger, candidate.Apis.Count, candidate.Csrf.AllowedOrigins.Count);
        fired.Cancel();
        fired.Dispose();
    }

    public void Dispose()
    {
        foreach (var subscription in _subscriptions)
        {
            subscription.Dispose();
        }

        _changed.Dispose();
    }
}
