using Microsoft.Extensions.Options;

namespace Portcullis.Configuration;

/// <summary>
/// <c>Portcullis:Session:Mode</c> and the options that only make sense in some modes (issue 15). A mode is refused at
/// start-up rather than quietly run as another one, and an option that would do nothing (or silently weaken split-key)
/// is refused naming its key, so nobody believes a feature is on that is not.
/// </summary>
internal sealed class SessionModeValidator : IValidateOptions<PortcullisOptions>
{
    private const string Key = PortcullisOptions.SectionName + ":Session:Mode";
    private const string OfflineCopyKey = PortcullisOptions.SectionName + ":Session:SplitKeyOfflineCopy";
    private const string OfflineAccessKey = PortcullisOptions.SectionName + ":Tokens:OfflineAccess";
    private const string MaxCookieAgeKey = PortcullisOptions.SectionName + ":Session:MaxCookieAge";
    private const string StoreKindKey = PortcullisOptions.SectionName + ":Store:Kind";
    private const string AdminPolicyKey = PortcullisOptions.SectionName + ":Admin:Policy";
    private const string ForwardAuthKey = PortcullisOptions.SectionName + ":ForwardAuth:Enabled";
    private const string CookieDomainKey = PortcullisOptions.SectionName + ":Session:CookieDomain";
    private const string CoordinatorKey = PortcullisOptions.SectionName + ":Session:StatelessRefreshCoordinator";

    /// <summary>Modes this build runs. Each mode joins the list in the commit that makes it work end to end.</summary>
    internal static readonly string[] Available = [SessionModes.Server, SessionModes.SplitKey, SessionModes.Stateless];

    private static readonly string[] Known = [SessionModes.Server, SessionModes.SplitKey, SessionModes.Stateless];

    public ValidateOptionsResult Validate(string? name, PortcullisOptions options)
    {
        var errors = new List<string>();
        var mode = options.Session.Mode;
        if (!Known.Contains(mode, StringComparer.Ordinal))
        {
            errors.Add($"{Key} '{mode}' is unknown; supported: {string.Join(", ", Known)}.");
        }
        else if (!Available.Contains(mode, StringComparer.Ordinal))
        {
            errors.Add($"{Key} '{mode}' is not available in this build yet; supported: {string.Join(", ", Available)}.");
        }

        var splitKey = mode == SessionModes.SplitKey;
        if (splitKey && options.Tokens.OfflineAccess && !options.Session.SplitKeyOfflineCopy)
        {
            // Offline access needs tokens the server can open; in split-key mode that is a deliberate weakening (ADR 0032).
            errors.Add($"{OfflineAccessKey} needs tokens the server can open, which {Key} 'split-key' does not keep; set {OfflineCopyKey} to true to keep the offline grant under the server's key ring (audited), or turn {OfflineAccessKey} off.");
        }

        if (options.Session.SplitKeyOfflineCopy && !(splitKey && options.Tokens.OfflineAccess))
        {
            errors.Add($"{OfflineCopyKey} applies only when {Key} is 'split-key' and {OfflineAccessKey} is true. Remove the key.");
        }

        var stateless = mode == SessionModes.Stateless;
        if (stateless)
        {
            ValidateStateless(options, errors);
        }

        if (options.Session.MaxCookieAge is { } maxCookieAge)
        {
            if (!stateless)
            {
                errors.Add($"{MaxCookieAgeKey} applies only when {Key} is 'stateless' (the other modes end a session in the store). Remove the key.");
            }
            else if (maxCookieAge < TimeSpan.FromMinutes(2))
            {
                // Cookies are re-issued at most once a minute: a shorter bound would end sessions in use.
                errors.Add($"{MaxCookieAgeKey} must be at least 2 minutes (was {maxCookieAge}).");
            }
        }

        if (!string.IsNullOrEmpty(options.Session.StatelessRefreshCoordinator) && !stateless)
        {
            errors.Add($"{CoordinatorKey} applies only when {Key} is 'stateless' (the other modes coordinate refreshes through the store). Remove the key.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>
    /// Features that need sessions kept on the server, refused when configured in stateless mode (ADR 0033) rather than
    /// left doing nothing. Those that need no option (session list, log out everywhere, back-channel logout, linking)
    /// answer 400 at run time instead.
    /// </summary>
    private static void ValidateStateless(PortcullisOptions options, List<string> errors)
    {
        const string Stateless = "{0} {1} 'stateless' keeps no session on the server; ";
        if (options.Store.Kind != StoreKinds.Sqlite)
        {
            // The only thing stateless mode keeps is the key ring, as files (DataDirectory); nodes share them through a
            // shared folder and KeyProtection:MasterKey.
            errors.Add(string.Format(Stateless, $"{StoreKindKey} '{options.Store.Kind}':", Key) + $"remove {PortcullisOptions.SectionName}:Store (the key ring is files in {PortcullisOptions.SectionName}:DataDirectory).");
        }

        if (options.Tokens.OfflineAccess)
        {
            errors.Add(string.Format(Stateless, OfflineAccessKey + ":", Key) + "workers cannot use a user's tokens without the user's request. Turn it off.");
        }

        if (options.Admin.Policy is not null)
        {
            errors.Add(string.Format(Stateless, AdminPolicyKey + ":", Key) + "the operator page has no sessions to show or end. Remove the key.");
        }

        if (options.ForwardAuth.Enabled)
        {
            // The front proxy's sub-request cannot carry the refresh cookie (its Path is the API route's) nor hand the
            // browser the cookies a refresh writes.
            errors.Add(string.Format(Stateless, ForwardAuthKey + ":", Key) + "forward-auth cannot renew the cookies a refresh rewrites. Turn it off or use the built-in proxy.");
        }

        if (!string.IsNullOrEmpty(options.Session.CookieDomain))
        {
            // The token cookies are __Host- (bound to this origin, ADR 0033): sharing them with sibling hosts would hand
            // every subdomain the sealed refresh token, and the codec binds each cookie to its name.
            errors.Add(string.Format(Stateless, CookieDomainKey + ":", Key) + "its token cookies stay on this host. Remove the key.");
        }
    }
}
