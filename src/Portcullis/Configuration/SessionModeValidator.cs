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

    /// <summary>Modes this build runs. Each mode joins the list in the commit that makes it work end to end.</summary>
    internal static readonly string[] Available = [SessionModes.Server, SessionModes.SplitKey];

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

        if (mode == SessionModes.Stateless && options.Session.CacheDuration != TimeSpan.Zero)
        {
            errors.Add($"{PortcullisOptions.SectionName}:Session:CacheDuration caches sessions read from the store; {Key} 'stateless' has no store. Remove the key.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
