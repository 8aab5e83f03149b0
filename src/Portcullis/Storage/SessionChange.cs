namespace Portcullis.Storage;

/// <summary>
/// Which cached sessions a write may have changed, as the session cache drops them locally and announces them to the
/// other nodes (ADR 0040). On the wire: the announcing node, the kind and its fields, separated by U+001F. Anything that
/// does not parse, or a kind this version does not know, means "everything may have changed": a newer node's
/// announcement is never ignored.
/// </summary>
internal sealed record SessionChange(char Kind, string First, string? Second = null)
{
    private const char Separator = '\u001f';

    /// <summary>Announced when anything may have changed (a re-encryption, a commit seen on a shared SQLite file).</summary>
    public const string Everything = "*";

    public static SessionChange Session(string key) => new('s', key);

    public static SessionChange Grant(string grantId) => new('g', grantId);

    public static SessionChange User(string userId, string? provider) => new('u', userId, provider);

    public static SessionChange ProviderSession(string provider, string providerSessionId) => new('p', provider, providerSessionId);

    public static SessionChange Handle(string userId, string handle) => new('h', userId, handle);

    public bool Affects(SessionAndGrant entry) => Kind switch
    {
        's' => entry.Session.Key == First,
        'g' => entry.Session.GrantId == First,
        'u' => entry.Session.UserId == First && (Second is null || entry.Session.Provider == Second),
        'p' => entry.Session.Provider == First && entry.Session.ProviderSessionId == Second,
        'h' => entry.Session.UserId == First && entry.Session.Handle == Second,
        _ => true,
    };

    public string Encode(string node) => Second is null
        ? string.Join(Separator, node, Kind, First)
        : string.Join(Separator, node, Kind, First, Second);

    /// <summary>
    /// Reads an announcement: null with <paramref name="node"/> set when it is well formed, else a change that affects
    /// everything (<see cref="Everything"/>, or a shape this version cannot read).
    /// </summary>
    public static SessionChange Decode(string text, out string? node)
    {
        node = null;
        var parts = text.Split(Separator);
        if (parts.Length is 3 or 4 && parts[1].Length == 1)
        {
            var kind = parts[1][0];
            var second = parts.Length == 4 ? parts[3] : null;
            var wellFormed = kind switch
            {
                's' or 'g' => second is null,
                'p' or 'h' => second is not null,
                'u' => true,
                _ => false,
            };
            if (wellFormed)
            {
                node = parts[0];
                return new SessionChange(kind, parts[2], second);
            }
        }

        return new SessionChange('*', string.Empty);
    }
}
