namespace Portcullis.Configuration;

/// <summary>
/// Checks <c>Portcullis:Policies</c> and the routes' <c>Policy</c> references, adding every problem to the list, each naming its key.
/// Runs after post-configure, so provider scopes are the effective ones (preset defaults included).
/// </summary>
internal static class AccessPoliciesValidator
{
    private const string Root = PortcullisOptions.SectionName;

    public static void Validate(PortcullisOptions options, List<string> errors)
    {
        if (options.MembershipCacheDuration < TimeSpan.Zero)
        {
            errors.Add($"{Root}:MembershipCacheDuration must not be negative (got '{options.MembershipCacheDuration}').");
        }

        foreach (var (name, policy) in options.Policies)
        {
            var key = $"{Root}:Policies:{name}";
            if (string.IsNullOrWhiteSpace(name) || name.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            {
                errors.Add($"{key}: a policy name must not be empty or contain spaces.");
            }

            ValidatePolicy(options, key, policy, errors);
        }

        if (options.Admin.Policy is { } adminPolicy && !options.Policies.ContainsKey(adminPolicy))
        {
            errors.Add($"{Root}:Admin:Policy: no policy '{adminPolicy}' in {Root}:Policies (configured: {Names(options.Policies.Keys)}).");
        }

        foreach (var (name, api) in options.Apis)
        {
            if (api.Policy is null)
            {
                continue;
            }

            var key = $"{Root}:Apis:{name}:Policy";
            if (!options.Policies.ContainsKey(api.Policy))
            {
                errors.Add($"{key}: no policy '{api.Policy}' in {Root}:Policies (configured: {Names(options.Policies.Keys)}).");
            }

            if (api.Token is not (ApiTokenModes.User or ApiTokenModes.Assertion))
            {
                errors.Add($"{key}: a policy is about the signed-in user and needs Token 'user' or 'assertion' (got '{api.Token}').");
            }
        }
    }

    private static void ValidatePolicy(PortcullisOptions options, string key, AccessPolicyOptions policy, List<string> errors)
    {
        if (policy.RequireScopes.Count == 0 && policy.RequireClaims.Count == 0 && policy.EmailDomains.Count == 0 && policy.Discord is null
            && policy.GitHub is null && policy.MaxAge is null && policy.Acr is null)
        {
            errors.Add($"{key}: the policy requires nothing; set RequireScopes, RequireClaims, EmailDomains, Discord, GitHub, MaxAge or Acr.");
        }

        if (policy.RequireScopes.Any(string.IsNullOrWhiteSpace) || policy.RequireClaims.Keys.Any(string.IsNullOrWhiteSpace))
        {
            errors.Add($"{key}: RequireScopes and RequireClaims must not contain empty names.");
        }

        foreach (var (domain, index) in policy.EmailDomains.Select((d, i) => (d, i)))
        {
            var bare = domain?.Trim().TrimStart('@');
            if (string.IsNullOrEmpty(bare) || bare.Contains('@') || !bare.Contains('.') || Uri.CheckHostName(bare) != UriHostNameType.Dns)
            {
                errors.Add($"{key}:EmailDomains:{index} must be a domain such as 'example.com' (got '{domain}').");
            }
        }

        if (policy.MaxAge is { } maxAge && maxAge <= TimeSpan.Zero)
        {
            errors.Add($"{key}:MaxAge must be a positive duration such as 00:05:00 (got '{maxAge}').");
        }

        if (policy.Acr is not null && string.IsNullOrWhiteSpace(policy.Acr))
        {
            errors.Add($"{key}:Acr must not be empty.");
        }

        if (policy.Discord is { } discord)
        {
            if (string.IsNullOrWhiteSpace(discord.Guild) || !discord.Guild.All(char.IsAsciiDigit))
            {
                errors.Add($"{key}:Discord:Guild must be the guild's id (a number such as 613425648685547541; got '{discord.Guild}').");
            }

            foreach (var (role, index) in discord.Roles.Select((r, i) => (r, i)))
            {
                if (string.IsNullOrWhiteSpace(role) || !role.All(char.IsAsciiDigit))
                {
                    errors.Add($"{key}:Discord:Roles:{index} must be a role id (a number; got '{role}').");
                }
            }

            ValidateProvider(options, $"{key}:Discord", discord.Provider, ProviderKinds.Discord, "guilds.members.read", errors);
        }

        if (policy.GitHub is { } gitHub)
        {
            if (string.IsNullOrWhiteSpace(gitHub.Organization))
            {
                errors.Add($"{key}:GitHub:Organization is required (the organization's login, e.g. 'octo-org').");
            }

            if (gitHub.Team is not null && string.IsNullOrWhiteSpace(gitHub.Team))
            {
                errors.Add($"{key}:GitHub:Team must be a team slug such as 'moderators' when set.");
            }

            ValidateProvider(options, $"{key}:GitHub", gitHub.Provider, ProviderKinds.GitHub, "read:org", errors);
        }
    }

    /// <summary>The policy's provider must exist, be of the right kind, and request the scope the membership call needs.</summary>
    private static void ValidateProvider(PortcullisOptions options, string key, string? name, string kind, string scope, List<string> errors)
    {
        var candidates = options.Providers.Where(p => p.Value.Kind == kind).ToList();
        KeyValuePair<string, ProviderOptions> provider;
        if (name is not null)
        {
            if (!options.Providers.TryGetValue(name, out var found) || found.Kind != kind)
            {
                errors.Add($"{key}:Provider '{name}' is not a configured '{kind}' provider (configured: {Names(candidates.Select(c => c.Key))}).");
                return;
            }

            provider = new(name, found);
        }
        else if (candidates.Count != 1)
        {
            errors.Add($"{key}:Provider: name the '{kind}' provider to ask ({(candidates.Count == 0 ? "none is configured" : "several are configured")}).");
            return;
        }
        else
        {
            provider = candidates[0];
        }

        if (!provider.Value.Scopes.Contains(scope, StringComparer.Ordinal))
        {
            errors.Add($"{Root}:Providers:{provider.Key}:Scopes must include '{scope}' for {key} (got '{string.Join(' ', provider.Value.Scopes)}').");
        }
    }

    private static string Names(IEnumerable<string> names) => names.Any() ? string.Join(", ", names) : "none";
}
