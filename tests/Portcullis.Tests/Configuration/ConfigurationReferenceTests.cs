using System.Collections;
using System.Reflection;
using Portcullis.Configuration;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Configuration;

/// <summary>
/// docs/configuration.md is the complete option reference (issue 21 item 6): every property reachable from
/// <see cref="PortcullisOptions"/> (the <c>Portcullis:</c> section) has a table row whose first cell names its key,
/// written below <c>Portcullis:</c> with <c>NAME</c> for a dictionary entry (<c>Apis:NAME:Timeout</c>).
/// </summary>
public sealed class ConfigurationReferenceTests
{
    [Fact]
    public void EveryOptionHasARowInTheConfigurationReference()
    {
        var reference = File.ReadAllLines(Path.Combine(RepositoryPaths.Root, "docs", "configuration.md"))
            .Where(line => line.StartsWith('|'))
            .Select(line => line.Split('|', StringSplitOptions.TrimEntries)[1])
            .ToHashSet(StringComparer.Ordinal);

        var missing = OptionKeys().Where(key => !reference.Any(cell => cell.Contains($"`{key.Key}`", StringComparison.Ordinal))).ToList();

        Assert.True(missing.Count == 0, "docs/configuration.md has no row for: " + string.Join(", ", missing.Select(m => m.Key)));
    }

    [Fact]
    public void TheKeyWalkFindsNestedAndDictionaryOptions()
    {
        // Guards the test above against passing because it looks at nothing.
        var keys = OptionKeys().Select(k => k.Key).ToList();
        Assert.Contains("PublicOrigin", keys);
        Assert.Contains("Session:Anomalies:Ipv4PrefixLength", keys);
        Assert.Contains("Providers:NAME:Endpoints:Token", keys);
        Assert.Contains("Apis:NAME:Timeout", keys);
        Assert.Contains("Policies:NAME:GitHub:Organization", keys);
    }

    internal static IEnumerable<(string Key, PropertyInfo Property, object? Owner)> OptionKeys() => Walk(typeof(PortcullisOptions), "", new PortcullisOptions());

    private static IEnumerable<(string Key, PropertyInfo Property, object? Owner)> Walk(Type type, string prefix, object? instance)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            var key = prefix + property.Name;
            var propertyType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (IsOptionsClass(propertyType))
            {
                // Sections (Csrf, Store, …) are rows of their own only through their members.
                foreach (var nested in Walk(propertyType, key + ":", instance is null ? null : property.GetValue(instance) ?? Activator.CreateInstance(propertyType)))
                {
                    yield return nested;
                }
            }
            else if (propertyType.IsGenericType && propertyType.GetGenericTypeDefinition() == typeof(Dictionary<,>)
                && IsOptionsClass(propertyType.GetGenericArguments()[1]))
            {
                var entry = propertyType.GetGenericArguments()[1];
                foreach (var nested in Walk(entry, key + ":NAME:", Activator.CreateInstance(entry)))
                {
                    yield return nested;
                }
            }
            else
            {
                yield return (key, property, instance);
            }
        }
    }

    private static bool IsOptionsClass(Type type) =>
        type.IsClass && type != typeof(string) && !typeof(IEnumerable).IsAssignableFrom(type)
        && type.Namespace?.StartsWith("Portcullis", StringComparison.Ordinal) == true;
}
