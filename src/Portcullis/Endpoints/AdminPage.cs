using System.Net;
using System.Text.Encodings.Web;
using Portcullis.Primitives;

namespace Portcullis.Endpoints;

/// <summary>
/// The operator page: static HTML and a same-origin script (the gateway's CSP allows no inline script). The script
/// calls the admin API with the anti-forgery header and writes every value with <c>textContent</c>, never as HTML: a
/// user's provider, subject or id is data the users control.
/// </summary>
internal static class AdminPage
{
    /// <summary>The page, its script loaded from under <paramref name="basePath"/>.</summary>
    public static string HtmlFor(string basePath) =>
        Html.Replace("\"/bff/admin/admin.js\"", "\"" + HtmlEncoder.Default.Encode(basePath + "/admin/admin.js") + "\"", StringComparison.Ordinal);

    /// <summary>The script, calling the API under <paramref name="basePath"/> with the anti-forgery header <paramref name="csrfHeaderName"/>.</summary>
    public static string ScriptFor(string basePath, string csrfHeaderName) =>
        Script
            .Replace("\"/bff/admin/api\"", JavaScriptString(basePath + "/admin/api"), StringComparison.Ordinal)
            .Replace("{ \"X-CSRF\": \"1\" }", "{ " + JavaScriptString(csrfHeaderName) + ": \"1\" }", StringComparison.Ordinal);

    private static string JavaScriptString(string value) => "\"" + JavaScriptEncoder.Default.Encode(value) + "\"";

    private const string Html = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Portcullis operators</title>
        <meta name="viewport" content="width=device-width, initial-scale=1"></head>
        <body>
        <h1>Portcullis operators</h1>
        <section><h2>Last hour</h2>
        <p>Revocations waiting: <span id="revocations">…</span></p>
        <table><thead><tr><th>refresh event</th><th>count</th></tr></thead><tbody id="refreshes"></tbody></table>
        <p id="incomplete" hidden>More events than were counted: the numbers are a lower bound.</p></section>
        <section><h2>Find a user</h2>
        <form id="find"><label>E-mail <input id="email" name="email" type="email" autocomplete="off"></label> or
        <label>Provider <input id="provider" name="provider"></label>
        <label>Subject <input id="subject" name="subject"></label> or
        <label>User id <input id="user" name="user"></label> <button id="search" type="submit">Find</button></form>
        <p id="message" role="status"></p>
        <div id="result" hidden>
        <h3>User <code id="user-id"></code></h3>
        <table><thead><tr><th>provider</th><th>subject</th><th>linked</th></tr></thead><tbody id="identities"></tbody></table>
        <h3>Sessions</h3>
        <table><thead><tr><th>handle</th><th>provider</th><th>created</th><th>last seen</th><th>idle until</th><th>ends at</th><th></th></tr></thead>
        <tbody id="sessions"></tbody></table>
        <button id="end-all" type="button">End all sessions and revoke</button>
        <h3>Grants</h3>
        <table><thead><tr><th>provider</th><th>refresh token</th><th>offline</th><th>access token expires</th><th>updated</th><th>sessions</th></tr></thead>
        <tbody id="grants"></tbody></table>
        </div></section>
        <script src="/bff/admin/admin.js"></script>
        </body></html>
        """;

    private const string Script = """
        "use strict";
        const api = "/bff/admin/api";
        const headers = { "X-CSRF": "1" };
        const $ = (id) => document.getElementById(id);
        let current = null;

        function row(cells, action) {
          const tr = document.createElement("tr");
          for (const value of cells) {
            const td = document.createElement("td");
            td.textContent = value === null || value === undefined ? "" : String(value);
            tr.appendChild(td);
          }
          if (action) { const td = document.createElement("td"); td.appendChild(action); tr.appendChild(td); }
          return tr;
        }

        async function call(method, path) {
          const response = await fetch(api + path, { method, headers, credentials: "same-origin" });
          const body = response.status === 204 ? null : await response.json();
          if (!response.ok) { throw new Error(body && body.message ? body.message : "HTTP " + response.status); }
          return body;
        }

        async function overview() {
          const data = await call("GET", "/overview");
          $("revocations").textContent = String(data.revocationsPending);
          const rows = $("refreshes"); rows.replaceChildren();
          for (const [event, count] of Object.entries(data.refreshOutcomes)) { rows.appendChild(row([event, count])); }
          $("incomplete").hidden = data.complete;
        }

        function show(user) {
          current = user;
          $("user-id").textContent = user.id;
          $("identities").replaceChildren(...user.identities.map((i) => row([i.provider, i.subject, i.linkedAt])));
          $("sessions").replaceChildren(...user.sessions.map((s) => {
            const end = document.createElement("button");
            end.type = "button"; end.textContent = "End"; end.dataset.handle = s.handle; end.className = "end-session";
            end.addEventListener("click", () => act(() => call("DELETE", "/users/" + encodeURIComponent(user.id) + "/sessions/" + encodeURIComponent(s.handle)), "Session ended."));
            return row([s.handle, s.provider, s.createdAt, s.lastSeenAt, s.idleExpiresAt, s.absoluteExpiresAt], end);
          }));
          $("grants").replaceChildren(...user.grants.map((g) => row([g.provider, g.hasRefreshToken ? "yes" : "no", g.offline ? "yes" : "no", g.accessTokenExpiresAt, g.updatedAt, g.sessions])));
          $("result").hidden = false;
        }

        async function find() {
          const query = new URLSearchParams();
          for (const name of ["email", "provider", "subject", "user"]) { if ($(name).value) { query.set(name, $(name).value); } }
          show(await call("GET", "/users?" + query.toString()));
        }

        async function act(action, done) {
          try { await action(); await find(); await overview(); $("message").textContent = done; }
          catch (error) { $("message").textContent = error.message; }
        }

        $("find").addEventListener("submit", (event) => {
          event.preventDefault();
          find().then(() => { $("message").textContent = ""; }, (error) => { $("result").hidden = true; $("message").textContent = error.message; });
        });
        $("end-all").addEventListener("click", () => act(async () => {
          const ended = await call("POST", "/users/" + encodeURIComponent(current.id) + "/logout");
          return ended;
        }, "All sessions ended; their tokens are being revoked."));
        overview().catch((error) => { $("message").textContent = error.message; });
        """;

    public static string Refusal(PortcullisError error)
    {
        var title = error.StatusCode == 401 ? "Sign in first" : "Not for you";
        return $$"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>{{title}}</title></head>
            <body><h1>{{title}}</h1><p>{{WebUtility.HtmlEncode(error.Message)}}</p>
            <p><code>{{WebUtility.HtmlEncode(error.Code)}}</code></p><p><a href="/">Back to the application</a></p></body></html>
            """;
    }
}
