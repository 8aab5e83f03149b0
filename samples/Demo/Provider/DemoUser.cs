namespace Portcullis.Demo.Provider;

internal sealed record DemoUser(
    string Subject,
    string UserName,
    string Password,
    string GivenName,
    string FamilyName,
    string Email)
{
    public string Name => $"{GivenName} {FamilyName}";
}
