using System.Runtime.InteropServices;

namespace Portcullis.Tests.Infrastructure;

/// <summary>Freezing and thawing a process (SIGSTOP, SIGCONT), as a stalled VM or a long GC pause would.</summary>
internal static class ProcessSignals
{
    private const int SigCont = 18; // Linux x86_64 and arm64
    private const int SigStop = 19;

    public static void Stop(int processId) => Send(processId, SigStop);

    public static void Continue(int processId) => Send(processId, SigCont);

    private static void Send(int processId, int signal)
    {
        if (Kill(processId, signal) != 0)
        {
            throw new InvalidOperationException($"kill({processId}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
