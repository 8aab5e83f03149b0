using System.Text.Json;
using Microsoft.Playwright;

namespace Portcullis.Browser.Tests.Infrastructure;

/// <summary>Scripts evaluated in the app's page, as an injected script (XSS) would run them.</summary>
internal static class PageProbes
{
    public static async Task<StorageDump> ReadAllStorageAsync(IPage page) =>
        JsonSerializer.Deserialize<StorageDump>(await page.EvaluateAsync<string>(ReadAllStorage), JsonSerializerOptions.Web)!;

    public static async Task<FetchResult[]> FetchEachAsync(IPage page, object[][] requests) =>
        JsonSerializer.Deserialize<FetchResult[]>(await page.EvaluateAsync<string>(FetchEach, requests), JsonSerializerOptions.Web)!;

    /// <summary>
    /// Everything script can read from the browser's own storage for this origin: <c>document.cookie</c>, the Cookie
    /// Store API, localStorage, sessionStorage, every IndexedDB database's contents and Cache Storage.
    /// </summary>
    public const string ReadAllStorage = """
        async () => {
          const dump = (storage) => JSON.stringify(Object.fromEntries(Object.keys(storage).map(k => [k, storage.getItem(k)])));
          const request = (r) => new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
          const indexedDb = [];
          for (const info of await indexedDB.databases()) {
            const db = await request(indexedDB.open(info.name));
            for (const name of db.objectStoreNames) {
              indexedDb.push(JSON.stringify({ db: info.name, store: name, values: await request(db.transaction(name).objectStore(name).getAll()) }));
            }
            db.close();
          }
          const caches = [];
          for (const name of await globalThis.caches.keys()) {
            const cache = await globalThis.caches.open(name);
            for (const key of await cache.keys()) caches.push(key.url + ' ' + await (await cache.match(key)).text());
          }
          const cookieStore = globalThis.cookieStore ? JSON.stringify(await globalThis.cookieStore.getAll()) : 'unavailable';
          return JSON.stringify({
            documentCookie: document.cookie,
            cookieStore,
            localStorage: dump(localStorage),
            sessionStorage: dump(sessionStorage),
            indexedDb: indexedDb.join('\n'),
            cacheStorage: caches.join('\n'),
          });
        }
        """;

    /// <summary>
    /// Sends each <c>[method, path, headers]</c> with the page's credentials and returns what script can read of the
    /// answer (status, headers, body), or the error the browser raised.
    /// </summary>
    public const string FetchEach = """
        async (requests) => {
          const results = [];
          for (const [method, path, headers] of requests) {
            try {
              const response = await fetch(path, { method, headers, credentials: 'include', redirect: 'manual' });
              results.push({ method, path, status: response.status,
                headers: [...response.headers].map(([k, v]) => k + ': ' + v).join('\n'), body: await response.text() });
            } catch (error) {
              results.push({ method, path, status: -1, headers: '', body: String(error) });
            }
          }
          return JSON.stringify(results);
        }
        """;
}

public sealed record StorageDump(string DocumentCookie, string CookieStore, string LocalStorage, string SessionStorage, string IndexedDb, string CacheStorage)
{
    public IEnumerable<string> All => [DocumentCookie, CookieStore, LocalStorage, SessionStorage, IndexedDb, CacheStorage];
}

public sealed record FetchResult(string Method, string Path, int Status, string Headers, string Body);
