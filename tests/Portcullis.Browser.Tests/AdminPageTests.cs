using Microsoft.Playwright;
using Portcullis.Browser.Tests.Infrastructure;

namespace Portcullis.Browser.Tests;

/// <summary>
/// Issue 19: the operator page in Chromium. alice (an operator by the stack's <c>Admin:Policy</c>) finds bob and ends his
/// session from the page; bob's next API call is 401. bob opening the page is refused and sees no operator controls.
/// </summary>
public sealed class AdminPageTests(BrowserStack stack) : IClassFixture<BrowserStack>
{
    [Fact]
    public async Task AnOperatorEndsAUsersSessionFromThePageAndTheUsersNextCallIs401()
    {
        await using var bobContext = await stack.NewContextAsync();
        var bob = await bobContext.NewPageAsync();
        await stack.LogInAsync(bob, "bob");
        Assert.Equal(200, await BrowserStack.ApiStatusAsync(bob));
        // The handle of this session, as bob's own session list names it (other tests of the class sign bob in too).
        var handle = await bob.EvaluateAsync<string>(
            "fetch('/bff/sessions', { headers: { 'X-CSRF': '1' } }).then(r => r.json()).then(list => list.find(s => s.current).handle)");

        await using var aliceContext = await stack.NewContextAsync();
        var alice = await aliceContext.NewPageAsync();
        await stack.LogInAsync(alice, "alice");
        await alice.GotoAsync(stack.Origin + "/bff/admin");
        await Assertions.Expect(alice.Locator("h1")).ToHaveTextAsync("Portcullis operators");
        await Assertions.Expect(alice.Locator("#revocations")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^[0-9]+$"));

        // Nobody has this address: the page says so and shows no user.
        await alice.FillAsync("#email", "nobody@example.com");
        await alice.ClickAsync("#search");
        await Assertions.Expect(alice.Locator("#message")).ToHaveTextAsync("No such user.");
        await Assertions.Expect(alice.Locator("#result")).ToBeHiddenAsync();

        // Found by e-mail (ADR 0039), in another spelling than the provider's.
        await alice.FillAsync("#email", " Bob@Example.com");
        await alice.ClickAsync("#search");
        await Assertions.Expect(alice.Locator("#identities")).ToContainTextAsync("bob");
        var end = alice.Locator($"#sessions .end-session[data-handle='{handle}']");
        await Assertions.Expect(end).ToHaveCountAsync(1);
        await alice.ScreenshotAsync(new() { Path = Chromium.ScreenshotPath("admin-1-user-found") });

        await end.ClickAsync();
        await Assertions.Expect(alice.Locator("#message")).ToHaveTextAsync("Session ended.");
        await Assertions.Expect(end).ToHaveCountAsync(0);

        Assert.Equal(401, await BrowserStack.ApiStatusAsync(bob));
        Assert.Equal(200, await BrowserStack.UserStatusAsync(alice));
    }

    [Fact]
    public async Task ANonOperatorOpeningThePageIsRefusedAndSeesNoControls()
    {
        await using var context = await stack.NewContextAsync();
        var bob = await context.NewPageAsync();
        await stack.LogInAsync(bob, "bob");

        var response = await bob.GotoAsync(stack.Origin + "/bff/admin");
        Assert.Equal(403, response!.Status);
        await Assertions.Expect(bob.Locator("h1")).ToHaveTextAsync("Not for you");
        await Assertions.Expect(bob.Locator("#find")).ToHaveCountAsync(0);
        Assert.Equal(403, await bob.EvaluateAsync<int>("fetch('/bff/admin/api/overview', { headers: { 'X-CSRF': '1' } }).then(r => r.status)"));
    }
}
