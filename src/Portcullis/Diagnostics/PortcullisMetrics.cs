using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Portcullis.Diagnostics;

/// <summary>
/// The meter <c>Portcullis</c> and its instruments (docs/observability.md). Every attribute value is one of a fixed
/// set (a configured provider or route name, an outcome or reason constant, a status class): never a token, an
/// identifier, an e-mail address or a user name, and never a value the client chose, which would also let a caller
/// grow the number of series without bound.
/// </summary>
internal sealed class PortcullisMetrics
{
    private static readonly double[] SecondsBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    private readonly Counter<long> _refreshes;
    private readonly Histogram<double> _refreshDuration;
    private readonly Counter<long> _logins;
    private readonly Counter<long> _sessionsCreated;
    private readonly Counter<long> _sessionsEnded;
    private readonly Counter<long> _proxyRequests;
    private readonly Histogram<double> _proxyDuration;
    private readonly Histogram<double> _storeDuration;
    private long _revocationsPending;

    public PortcullisMetrics(IMeterFactory meterFactory)
    {
        // Created through the host's factory, so a test's MeterListener can tell this host's meter from another's.
        var meter = meterFactory.Create(PortcullisTelemetry.Name);
        var seconds = new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets };
        _refreshes = meter.CreateCounter<long>("portcullis.token.refreshes", "{refresh}", "Token requests with a refresh token, by outcome.");
        _refreshDuration = meter.CreateHistogram("portcullis.token.refresh.duration", "s", "Time from the start of a refresh (lease wait included) to its outcome.", advice: seconds);
        _logins = meter.CreateCounter<long>("portcullis.logins", "{login}", "Completed login callbacks, by outcome.");
        _sessionsCreated = meter.CreateCounter<long>("portcullis.sessions.created", "{session}", "Sessions created by a login.");
        _sessionsEnded = meter.CreateCounter<long>("portcullis.sessions.ended", "{session}", "Sessions ended, by reason.");
        _proxyRequests = meter.CreateCounter<long>("portcullis.proxy.requests", "{request}", "Requests to API routes, by route and status class.");
        _proxyDuration = meter.CreateHistogram("portcullis.proxy.request.duration", "s", "Time to answer a request to an API route (token and upstream included).", advice: seconds);
        _storeDuration = meter.CreateHistogram("portcullis.store.operation.duration", "s", "Time of one call to the store backend.", advice: seconds);
        meter.CreateObservableGauge("portcullis.revocations.pending", () => Volatile.Read(ref _revocationsPending), "{revocation}", "Tokens queued for revocation at their provider, as last counted by this node.");
    }

    public void RefreshCompleted(string provider, string outcome, TimeSpan elapsed)
    {
        var tags = new TagList { { "provider", provider }, { "outcome", outcome } };
        _refreshes.Add(1, tags);
        _refreshDuration.Record(elapsed.TotalSeconds, tags);
    }

    public void LoginCompleted(string provider, string outcome) =>
        _logins.Add(1, new TagList { { "provider", provider }, { "outcome", outcome } });

    public void SessionCreated(string provider) => _sessionsCreated.Add(1, new KeyValuePair<string, object?>("provider", provider));

    public void SessionsEnded(string reason, long count = 1)
    {
        if (count > 0)
        {
            _sessionsEnded.Add(count, new KeyValuePair<string, object?>("reason", reason));
        }
    }

    public void ProxyRequestCompleted(string route, int statusCode, TimeSpan elapsed)
    {
        var tags = new TagList { { "route", route }, { "status_class", StatusClass(statusCode) } };
        _proxyRequests.Add(1, tags);
        _proxyDuration.Record(elapsed.TotalSeconds, tags);
    }

    public bool StoreTimingEnabled => _storeDuration.Enabled;

    public void StoreOperationCompleted(string operation, string store, TimeSpan elapsed) =>
        _storeDuration.Record(elapsed.TotalSeconds, new TagList { { "operation", operation }, { "store", store } });

    public void RevocationsPending(long count) => Volatile.Write(ref _revocationsPending, count);

    private static string StatusClass(int statusCode) => statusCode switch
    {
        >= 100 and < 200 => "1xx",
        >= 200 and < 300 => "2xx",
        >= 300 and < 400 => "3xx",
        >= 400 and < 500 => "4xx",
        >= 500 and < 600 => "5xx",
        _ => "other",
    };
}

/// <summary>Values of the <c>outcome</c> attribute of <c>portcullis.token.refreshes</c>.</summary>
internal static class RefreshOutcomes
{
    public const string Success = "success";
    public const string InvalidGrant = "invalid_grant";
    public const string Timeout = "timeout";
    public const string Error = "error";
}

/// <summary>Values of the <c>reason</c> attribute of <c>portcullis.sessions.ended</c>.</summary>
internal static class SessionEndReasons
{
    public const string Logout = "logout";
    public const string Everywhere = "everywhere";
    public const string Backchannel = "backchannel";
    public const string Reauthentication = "reauthentication";
    public const string EndedByUser = "ended_by_user";
    public const string Anomaly = "anomaly";
    public const string Replaced = "replaced";
    public const string Admin = "admin";

    /// <summary>Unused past <c>Session:IdleTimeout</c>; counted by the store's sweep.</summary>
    public const string Idle = "idle";

    /// <summary>Reached <c>Session:AbsoluteTimeout</c> (or the refresh token's end); counted by the store's sweep.</summary>
    public const string Absolute = "absolute";
}
