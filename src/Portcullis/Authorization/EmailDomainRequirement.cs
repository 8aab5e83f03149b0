using Microsoft.AspNetCore.Authorization;

namespace Portcullis.Authorization;

/// <summary>
/// The user's e-mail must be one the provider verified (<c>email_verified</c> true) and in one of <see cref="Domains"/>
/// (exact domain, case-insensitive; <c>a@sub.example.com</c> is not in <c>example.com</c>). An unverified address proves
/// nothing: anyone can type any address at most providers.
/// </summary>
public sealed class EmailDomainRequirement : AuthorizationHandler<EmailDomainRequirement>, IAuthorizationRequirement
{
    public EmailDomainRequirement(IEnumerable<string> domains) => Domains = domains.Select(d => d.Trim().TrimStart('@')).ToArray();

    public IReadOnlyList<string> Domains { get; }

    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, EmailDomainRequirement requirement)
    {
        var email = context.User.FindFirst("email")?.Value;
        var verified = context.User.FindFirst("email_verified")?.Value is { } flag && string.Equals(flag, "true", StringComparison.OrdinalIgnoreCase);
        var at = email?.LastIndexOf('@') ?? -1;
        var domain = at > 0 ? email![(at + 1)..] : null;
        if (verified && domain is not null && requirement.Domains.Contains(domain, StringComparer.OrdinalIgnoreCase))
        {
            context.Succeed(requirement);
            return Task.CompletedTask;
        }

        var expected = string.Join(", ", requirement.Domains.Select(d => "@" + d));
        var reason = email is null
            ? $"This page needs a verified e-mail address at {expected}; the provider gave none."
            : !verified
                ? $"This page needs a verified e-mail address at {expected}; the provider has not verified {email}."
                : $"This page needs an e-mail address at {expected}; {email} is not one.";
        ForbiddenReasons.Add(context, reason);
        context.Fail(new AuthorizationFailureReason(this, reason));
        return Task.CompletedTask;
    }

    public override string ToString() => $"Verified e-mail at {string.Join(", ", Domains)}";
}
