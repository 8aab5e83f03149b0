using System.Globalization;

namespace Portcullis.Bench.Processes;

/// <summary>Memory figures of a Linux process from /proc/PID/status (VmHWM: peak resident set, VmRSS: resident set now).</summary>
internal static class ProcessMemory
{
    public static long Read(int processId, string field)
    {
        foreach (var line in File.ReadLines($"/proc/{processId}/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                // "VmHWM:\t  123456 kB"
                var kilobytes = line[(field.Length + 1)..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
                return long.Parse(kilobytes, CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException($"/proc/{processId}/status has no {field} line.");
    }
}
