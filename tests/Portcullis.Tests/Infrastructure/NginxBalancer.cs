using System.Diagnostics;
using System.Net.Sockets;

namespace Portcullis.Tests.Infrastructure;

/// <summary>
/// Debian's nginx as a round-robin load balancer on a loopback port in front of several gateway nodes, as
/// docs/deploy.md runs it: idempotent requests that fail on a dead node are retried on the next one.
/// </summary>
public sealed class NginxBalancer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private NginxBalancer(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    public string Origin => $"http://localhost:{Port}";

    public static Task<NginxBalancer> StartAsync(int port, IEnumerable<int> nodePorts)
    {
        var servers = string.Concat(nodePorts.Select(p => $"    server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;\n"));
        return StartAsync(port, $$"""
              upstream gateways {
            {{servers}}    keepalive 64;
              }
              server {
                listen 127.0.0.1:{{port}};
                location / {
                  proxy_pass http://gateways;
                  proxy_http_version 1.1;
                  proxy_set_header Connection "";
                  proxy_set_header Host $http_host;
                  proxy_next_upstream error timeout http_502;
                  proxy_connect_timeout 2s;
                  proxy_read_timeout 60s;
                }
              }
            """);
    }

    /// <summary>nginx listening on <paramref name="port"/> with <paramref name="httpBlock"/> inside its <c>http { }</c> (other front-proxy set-ups, such as forward-auth).</summary>
    public static async Task<NginxBalancer> StartAsync(int port, string httpBlock)
    {
        var nginx = TestServices.Nginx;
        var directory = Directory.CreateTempSubdirectory("portcullis-nginx-").FullName;
        Directory.CreateDirectory(Path.Combine(directory, "tmp"));
        var temp = Path.Combine(directory, "tmp");
        File.WriteAllText(Path.Combine(directory, "nginx.conf"), $$"""
            worker_processes 1;
            error_log {{directory}}/error.log warn;
            pid {{directory}}/nginx.pid;
            events { worker_connections 2048; }
            http {
              access_log off;
              client_body_temp_path {{temp}}/body;
              proxy_temp_path {{temp}}/proxy;
              fastcgi_temp_path {{temp}}/fastcgi;
              uwsgi_temp_path {{temp}}/uwsgi;
              scgi_temp_path {{temp}}/scgi;
            {{httpBlock}}
            }
            """);
        var start = new ProcessStartInfo(nginx)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-p", directory, "-c", Path.Combine(directory, "nginx.conf"), "-g", "daemon off;" })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("nginx could not be started.");
        var balancer = new NginxBalancer(process, directory, port);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"nginx exited: {await process.StandardError.ReadToEndAsync()}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                return balancer;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50); // real: waits for the nginx process to listen
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
