using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Playwright;
using Portcullis.Browser.Tests.Infrastructure;
using Portcullis.Samples.DiscordModerators;

namespace Portcullis.Browser.Tests;

/// <summary>
/// The moderator dashboard sample (issue 5 item 7, seed 000) as people use it, in a real Chromium against the Discord
/// simulator: a moderator gets in, a member without the role and a stranger see why not, and a moderator whose role is
/// taken away loses access once the membership cache time has passed.
/// </summary>
public sealed class DiscordModeratorsFlowTests
{
    private static readonly TimeSpan CacheDuration = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task AModeratorGetsInSeesTheReportsAndSignsOut()
    {
        await using var sample = await StartSampleAsync();
        var (playwright, browser) = await Chromium.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        var page = await browser.NewPageAsync();

        await page.GotoAsync(sample.Url);
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Moderator dashboard");
        await SignInAsync(page, "nelly");

        await Assertions.Expect(page.Locator("#welcome")).ToHaveTextAsync("Welcome, Nelly. You are a moderator.", new() { Timeout = 60_000 });
        Assert.Equal(sample.Url + "/", page.Url);
        // The JSON endpoint behind the same named policy answers the page's script.
        await Assertions.Expect(page.Locator("#reports[data-loaded=true] li")).ToHaveCountAsync(2);
        await Assertions.Expect(page.Locator("#reports")).ToContainTextAsync("Posting invite links");
        await page.ScreenshotAsync(new() { Path = Chromium.ScreenshotPath("moderators-1-dashboard") });
        Assert.DoesNotContain("__Host-portcullis", await page.EvaluateAsync<string>("document.cookie"));

        await page.ClickAsync("#logout");
        await Assertions.Expect(page.Locator("#login")).ToBeVisibleAsync(new() { Timeout = 60_000 });
        var reports = await page.EvaluateAsync<int>("fetch('/moderation/reports').then(r => r.status)");
        Assert.Equal(401, reports);
    }

    [Fact]
    public async Task AMemberWithoutTheRoleAndAStrangerSeeWhyTheyCannotEnter()
    {
        await using var sample = await StartSampleAsync();
        var (playwright, browser) = await Chromium.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;

        var mason = await browser.NewPageAsync();
        await mason.GotoAsync(sample.Url);
        var masonLanding = await SignInAsync(mason, "mason");
        await Assertions.Expect(mason.Locator("h1")).ToHaveTextAsync("Not a moderator", new() { Timeout = 60_000 });
        await Assertions.Expect(mason.Locator("#reason")).ToHaveTextAsync("You are not a moderator of Portcullis HQ.");
        Assert.Equal(403, masonLanding.Status);
        await mason.ScreenshotAsync(new() { Path = Chromium.ScreenshotPath("moderators-2-not-a-moderator") });
        // The JSON behind the policy refuses too, with the same reason.
        var json = await mason.EvaluateAsync<string>("fetch('/moderation/reports').then(async r => r.status + ' ' + await r.text())");
        Assert.StartsWith("403 ", json);
        Assert.Contains("\"error\":\"forbidden\"", json);
        Assert.Contains("You are not a moderator of Portcullis HQ.", json);

        // Another person: a context of its own, so no cookie is shared.
        var stranger = await (await browser.NewContextAsync()).NewPageAsync();
        await stranger.GotoAsync(sample.Url);
        await SignInAsync(stranger, "outsider");
        await Assertions.Expect(stranger.Locator("#reason")).ToHaveTextAsync("You are not a member of Portcullis HQ.", new() { Timeout = 60_000 });
    }

    [Fact]
    public async Task AModeratorWhoseRoleIsRemovedLosesAccessAfterTheCacheTime()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var sample = await StartSampleAsync(clock);
        var (playwright, browser) = await Chromium.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        var page = await SignedInModeratorAsync(browser, sample);

        var guild = sample.Services.GetRequiredService<IConfiguration>()["Portcullis:Policies:moderators:Discord:Guild"]!;
        sample.Simulator!.Users["nelly"].GuildRoles[guild] = ["1043857599999999999"];
        clock.Advance(CacheDuration + TimeSpan.FromSeconds(0.5)); // past the membership cache time on the gateway's clock
        var reload = await page.ReloadAsync();

        Assert.Equal(403, reload?.Status);
        await Assertions.Expect(page.Locator("#reason")).ToHaveTextAsync("You are not a moderator of Portcullis HQ.");
        await page.ScreenshotAsync(new() { Path = Chromium.ScreenshotPath("moderators-3-role-removed") });
    }

    [Fact]
    public async Task WhileDiscordRateLimitsTheModeratorSeesABusyPageAndIsStillSignedIn()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var sample = await StartSampleAsync(clock);
        var (playwright, browser) = await Chromium.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        var page = await SignedInModeratorAsync(browser, sample);

        clock.Advance(CacheDuration + TimeSpan.FromSeconds(0.5)); // past the membership cache time on the gateway's clock
        sample.Simulator!.RateLimitApiRequests(1);
        var busy = await page.ReloadAsync();

        Assert.Equal(503, busy?.Status);
        Assert.Equal("2", await busy!.HeaderValueAsync("retry-after"));
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Discord is busy");
        await Assertions.Expect(page.Locator("#welcome")).Not.ToBeVisibleAsync();

        // Same session, no new sign-in: once Discord answers again, the dashboard is back.
        var again = await page.ReloadAsync();
        Assert.Equal(200, again?.Status);
        await Assertions.Expect(page.Locator("#welcome")).ToBeVisibleAsync();
    }

    /// <param name="clock">The gateway's clock, moved by tests past the membership cache time; the system clock when null.</param>
    private static Task<ModeratorsApp> StartSampleAsync(TimeProvider? clock = null)
    {
        var data = Directory.CreateTempSubdirectory("portcullis-moderators-browser-").FullName;
        return ModeratorsApp.StartAsync([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Moderators:Port"] = "0",
                ["Portcullis:Store:ConnectionString"] = $"Data Source={Path.Combine(data, "portcullis.db")}",
                ["Portcullis:MembershipCacheDuration"] = CacheDuration.ToString("c", System.Globalization.CultureInfo.InvariantCulture),
            });
            if (clock is not null)
            {
                builder.Services.AddSingleton(clock);
            }
        });
    }

    /// <summary>A new page on the dashboard, signed in as the moderator Nelly.</summary>
    private static async Task<IPage> SignedInModeratorAsync(IBrowser browser, ModeratorsApp sample)
    {
        var page = await browser.NewPageAsync();
        await page.GotoAsync(sample.Url);
        await SignInAsync(page, "nelly");
        await Assertions.Expect(page.Locator("#welcome")).ToBeVisibleAsync(new() { Timeout = 60_000 });
        return page;
    }

    /// <summary>Clicks "Sign in with Discord", signs in at the simulator and returns the response of the page landed on.</summary>
    private static async Task<IResponse> SignInAsync(IPage page, string username)
    {
        var landing = page.Url.TrimEnd('/') + "/";
        await page.ClickAsync("#login");
        await page.FillAsync("#username", username);
        await page.FillAsync("#password", "password");
        return await page.RunAndWaitForResponseAsync(() => page.ClickAsync("#login"), r => r.Url == landing, new() { Timeout = 60_000 });
    }
}
