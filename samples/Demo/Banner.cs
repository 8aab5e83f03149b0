using System.Text;

namespace Portcullis.Demo;

internal static class Banner
{
    public static string For(DemoStack stack)
    {
        var text = new StringBuilder()
            .AppendLine()
            .AppendLine("Portcullis demo is running.")
            .AppendLine()
            .AppendLine($"  Open         {stack.GatewayUrl}")
            .AppendLine($"  Provider     {stack.ProviderUrl}  (issuer {stack.Issuer})")
            .AppendLine($"  Sample API   {new Uri(stack.ApiUrl, DemoDefaults.ApiPath + "/whoami")}")
            .AppendLine($"  Gateway data {stack.DataDirectory}")
            .AppendLine()
            .AppendLine("  Demo users (user name / password):");
        foreach (var (userName, password) in stack.Users)
        {
            text.AppendLine($"    {userName} / {password}");
        }

        return text.AppendLine().Append("Press Ctrl+C to stop.").ToString();
    }
}
