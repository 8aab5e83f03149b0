using Portcullis.Storage;

namespace Portcullis.Sessions;

/// <summary>The session a request belongs to, resolved and decrypted once per request.</summary>
internal sealed record CurrentSession(SessionRecord Record, SessionData Data);
