using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.Logging;

namespace Portcullis.Gateway;

/// <summary>
/// The <c>--config</c> file, watched for changes. A version that cannot be parsed (an editor saving half a file, a
/// typo) keeps the last version that could, and says so in the log; the stock JSON provider would instead drop every key
/// of the file, and the next reload of any other source would run the gateway without its routes. A version that parses
/// but fails validation is refused later, by the options in force (<c>ReloadableOptions</c>).
/// </summary>
internal sealed class LastGoodJsonConfigurationSource : JsonConfigurationSource
{
    private static readonly Action<ILogger, string, string, Exception?> Unreadable = LoggerMessage.Define<string, string>(
        LogLevel.Error,
        new EventId(5002, "ConfigurationFileUnreadable"),
        "The configuration file {Path} cannot be read ({Problem}); the last version that could be read stays in force.");

    /// <summary>Where to report an unreadable version; set once the host's logging exists.</summary>
    public ILogger? Logger { get; set; }

    public override IConfigurationProvider Build(IConfigurationBuilder builder)
    {
        EnsureDefaults(builder);
        return new Provider(this);
    }

    private sealed class Provider(LastGoodJsonConfigurationSource source) : JsonConfigurationProvider(source)
    {
        private bool _loaded;

        public override void Load(Stream stream)
        {
            if (!_loaded)
            {
                base.Load(stream); // At start-up a broken file stops the gateway, naming the file.
                _loaded = true;
                return;
            }

            try
            {
                base.Load(stream);
            }
            catch (FormatException problem)
            {
                // Data still holds the last good version: JsonConfigurationProvider assigns it only after a full parse.
                if (source.Logger is { } logger)
                {
                    var path = source.FileProvider?.GetFileInfo(source.Path!).PhysicalPath ?? source.Path!;
                    Unreadable(logger, path, problem.InnerException?.Message ?? problem.Message, null);
                }
            }
        }
    }
}
