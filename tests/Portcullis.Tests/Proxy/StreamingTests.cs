using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Portcullis.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Portcullis.Tests.Proxy;

/// <summary>Bodies stream both ways with bounded memory; size limits and the idle timeout are enforced per route.</summary>
[Collection(MeasuresMemory.Name)]
public sealed class StreamingTests(ITestOutputHelper output)
{
    private const long HundredMegabytes = 100L * 1024 * 1024;

    /// <summary>
    /// Everything runs in this one process (client, gateway, upstream), so the process's managed heap bounds the gateway's.
    /// If any party buffered a body, the heap would grow by about 100 MB (a byte array, or a MemoryStream's doubling
    /// buffers: more). Streaming through pooled 64 KB buffers keeps the growth at a few MB; the bound of 32 MB leaves room for
    /// GC timing and the test's own bookkeeping while staying far below one buffered body.
    /// </summary>
    private const long HeapGrowthBound = 32L * 1024 * 1024;

    [Fact]
    public async Task AHundredMegabyteUploadAndDownloadStreamThroughWithBoundedMemory()
    {
        await using var upstream = await ProxyUpstream.StartAsync(async (context, request) =>
        {
            if (request.Method == "GET")
            {
                context.Response.ContentLength = HundredMegabytes;
                await PatternContent.WriteAsync(context.Response.Body, HundredMegabytes, context.RequestAborted);
                return;
            }

            await context.Response.WriteAsync(request.BodyLength.ToString(System.Globalization.CultureInfo.InvariantCulture));
        });
        await using var stack = await TestStack.StartAsync(adjust: s =>
        {
            Routes.Add(s, "files", "/api/files", upstream.Url);
            s["Portcullis:Apis:files:MaxRequestBodySize"] = (2 * HundredMegabytes).ToString(System.Globalization.CultureInfo.InvariantCulture);
        });
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        var cookie = browser.CookiesFor("localhost")["__Host-portcullis"];
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };

        using var sampler = MemorySampler.Start();
        using (var upload = Request(HttpMethod.Post, $"{stack.Origin}/api/files/upload", cookie))
        {
            upload.Content = new PatternContent(HundredMegabytes);
            using var response = await http.SendAsync(upload);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(HundredMegabytes.ToString(System.Globalization.CultureInfo.InvariantCulture), await response.Content.ReadAsStringAsync());
        }

        long downloaded = 0;
        using (var download = Request(HttpMethod.Get, $"{stack.Origin}/api/files/download", cookie))
        {
            using var response = await http.SendAsync(download, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await using var body = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[64 * 1024];
            int read;
            while ((read = await body.ReadAsync(buffer)) > 0)
            {
                downloaded += read;
            }
        }

        var usage = sampler.Stop();
        output.WriteLine($"managed heap growth peak {usage.PeakHeapGrowth / 1024 / 1024} MB, allocated {usage.Allocated / 1024 / 1024} MB, working set growth peak {usage.PeakWorkingSetGrowth / 1024 / 1024} MB");
        Assert.Equal(HundredMegabytes, downloaded);
        Assert.Equal(HundredMegabytes, upstream.Requests.First().BodyLength);
        Assert.True(usage.PeakHeapGrowth < HeapGrowthBound, $"managed heap grew by {usage.PeakHeapGrowth / 1024 / 1024} MB while streaming");
        // Every byte allocated anywhere in the process during 200 MB of traffic: far less than one copy of either body.
        Assert.True(usage.Allocated < HundredMegabytes / 2, $"{usage.Allocated / 1024 / 1024} MB allocated while streaming");
    }

    [Fact]
    public async Task BodiesOverTheRouteLimitsAreRefusedOrCutOff()
    {
        await using var upstream = await ProxyUpstream.StartAsync(async (context, request) =>
        {
            var size = long.Parse(context.Request.Query["size"].ToString(), System.Globalization.CultureInfo.InvariantCulture);
            if (context.Request.Query.ContainsKey("known"))
            {
                context.Response.ContentLength = size;
            }

            await PatternContent.WriteAsync(context.Response.Body, size, context.RequestAborted);
        });
        await using var stack = await TestStack.StartAsync(adjust: s =>
        {
            Routes.Add(s, "files", "/api/files", upstream.Url);
            s["Portcullis:Apis:files:MaxRequestBodySize"] = "100000";
            s["Portcullis:Apis:files:MaxResponseBodySize"] = "200000";
        });
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        var cookie = browser.CookiesFor("localhost")["__Host-portcullis"];
        using var http = new HttpClient();

        // A declared length over the limit is refused before the body is sent (the client waits for 100-continue).
        using var declared = Request(HttpMethod.Post, $"{stack.Origin}/api/files?size=1", cookie);
        declared.Headers.ExpectContinue = true;
        declared.Content = new PatternContent(100001);
        using var declaredResponse = await http.SendAsync(declared);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, declaredResponse.StatusCode);
        Assert.Contains("\"error\":\"invalid_request\"", await declaredResponse.Content.ReadAsStringAsync());
        Assert.Empty(upstream.Requests);

        // Without a declared length the limit is hit mid-stream: the gateway answers 413 while the client may still be
        // sending, so the client sees the 413 or a closed connection; the upstream never gets the whole body.
        using var chunked = Request(HttpMethod.Post, $"{stack.Origin}/api/files?size=1", cookie);
        chunked.Content = new PatternContent(300000, knownLength: false);
        try
        {
            using var chunkedResponse = await http.SendAsync(chunked);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, chunkedResponse.StatusCode);
        }
        catch (HttpRequestException)
        {
        }

        Assert.DoesNotContain(upstream.Requests, r => r.BodyLength > 100000);

        using var withinLimits = await http.SendAsync(Request(HttpMethod.Get, $"{stack.Origin}/api/files?size=200000", cookie));
        Assert.Equal(200000, (await withinLimits.Content.ReadAsByteArrayAsync()).Length);

        using var knownTooLarge = await http.SendAsync(Request(HttpMethod.Get, $"{stack.Origin}/api/files?size=200001&known", cookie));
        Assert.Equal(HttpStatusCode.BadGateway, knownTooLarge.StatusCode);
        Assert.Contains("\"error\":\"upstream_unavailable\"", await knownTooLarge.Content.ReadAsStringAsync());

        // Without a length the answer has started before the limit is reached: it is cut off, never delivered whole.
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            using var streamed = await http.SendAsync(Request(HttpMethod.Get, $"{stack.Origin}/api/files?size=1000000", cookie));
            await streamed.Content.ReadAsByteArrayAsync();
        });
        Assert.Contains(stack.Gateway.Logs.Lines, l => l.Contains("[2004]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnUpstreamSilentForLongerThanTheTimeoutGives504()
    {
        await using var upstream = await ProxyUpstream.StartAsync(async (context, _) =>
        {
            // Real: a silent upstream, cut off after 1 s by YARP's activity timeout (YARP's own timer, not the TimeProvider).
            await Task.Delay(TimeSpan.FromSeconds(5), context.RequestAborted);
            await context.Response.WriteAsync("late");
        });
        await using var stack = await TestStack.StartAsync(adjust: s =>
        {
            Routes.Add(s, "slow", "/api/slow", upstream.Url);
            s["Portcullis:Apis:slow:Timeout"] = "00:00:01";
        });
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);

        var stopwatch = Stopwatch.StartNew();
        var response = await browser.GetAsync($"{stack.Origin}/api/slow", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.Status);
        Assert.Contains("\"error\":\"upstream_unavailable\"", response.Body);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(4), $"took {stopwatch.Elapsed}");
    }

    private static HttpRequestMessage Request(HttpMethod method, string url, string cookie)
    {
        var request = new HttpRequestMessage(method, url);
        request.Headers.Add("X-CSRF", "1");
        request.Headers.Add("Cookie", $"__Host-portcullis={cookie}");
        return request;
    }

    /// <summary>A body of any length written from one small reused buffer, so the client never holds the body either.</summary>
    private sealed class PatternContent(long length, bool knownLength = true) : HttpContent
    {
        private static readonly byte[] Chunk = Enumerable.Range(0, 64 * 1024).Select(i => (byte)i).ToArray();

        public static async Task WriteAsync(Stream stream, long length, CancellationToken cancellationToken)
        {
            for (long written = 0; written < length;)
            {
                var count = (int)Math.Min(Chunk.Length, length - written);
                await stream.WriteAsync(Chunk.AsMemory(0, count), cancellationToken);
                written += count;
            }
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => WriteAsync(stream, length, CancellationToken.None);

        protected override bool TryComputeLength(out long computed)
        {
            computed = length;
            if (knownLength)
            {
                Headers.ContentType ??= new MediaTypeHeaderValue("application/octet-stream");
            }

            return knownLength;
        }
    }

    /// <summary>Samples the managed heap and working set every 10 ms from a full collection's baseline.</summary>
    private sealed class MemorySampler : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _sampling;
        private readonly long _baselineHeap;
        private readonly long _baselineWorkingSet;
        private readonly long _baselineAllocated;
        private long _peakHeap;
        private long _peakWorkingSet;

        private MemorySampler()
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            _baselineHeap = GC.GetTotalMemory(false);
            _baselineWorkingSet = Environment.WorkingSet;
            _baselineAllocated = GC.GetTotalAllocatedBytes(true);
            _sampling = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    _peakHeap = Math.Max(_peakHeap, GC.GetTotalMemory(false));
                    _peakWorkingSet = Math.Max(_peakWorkingSet, Environment.WorkingSet);
                    await Task.Delay(10); // real: the memory sampling interval
                }
            });
        }

        public static MemorySampler Start() => new();

        public (long PeakHeapGrowth, long PeakWorkingSetGrowth, long Allocated) Stop()
        {
            _stop.Cancel();
            _sampling.Wait();
            return (_peakHeap - _baselineHeap, _peakWorkingSet - _baselineWorkingSet, GC.GetTotalAllocatedBytes(true) - _baselineAllocated);
        }

        public void Dispose() => _stop.Dispose();
    }
}

/// <summary>Tests that measure the process's memory run alone, so other tests' allocations do not count against them.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MeasuresMemory
{
    public const string Name = "Measures memory";
}
