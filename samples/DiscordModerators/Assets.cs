namespace Portcullis.Samples.DiscordModerators;

/// <summary>Script and style served from the app itself: the Content-Security-Policy (<c>default-src 'self'</c>) forbids inline ones.</summary>
internal static class Assets
{
    // Logout is a POST carrying the anti-forgery header Portcullis requires, so it takes a line of script.
    public const string Script = """
        document.getElementById('logout')?.addEventListener('click', async () => {
          await fetch('/bff/logout', { method: 'POST', headers: { 'X-CSRF': '1' } });
          location.href = '/';
        });
        const list = document.getElementById('reports');
        if (list) {
          fetch('/moderation/reports').then(r => r.json()).then(reports => {
            list.replaceChildren(...reports.map(r => {
              const item = document.createElement('li');
              item.textContent = `#${r.id} in ${r.channel} by ${r.author}: ${r.reason}`;
              return item;
            }));
            list.dataset.loaded = 'true';
          });
        }
        """;

    public const string Style = """
        body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; color: #23272a; }
        .button { display: inline-block; background: #5865f2; color: white; padding: .6rem 1.2rem; border-radius: .3rem; text-decoration: none; border: 0; font-size: 1rem; cursor: pointer; }
        .refusal { border-left: .3rem solid #ed4245; padding-left: 1rem; }
        """;
}
