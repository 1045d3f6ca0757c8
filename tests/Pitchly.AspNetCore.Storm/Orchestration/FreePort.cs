namespace Pitchly.AspNetCore.Storm.Orchestration;

/// <summary>Finds TCP ports that are free on the loopback interface.</summary>
public static class FreePort
{
    /// <summary>Asks the operating system for a free loopback port and releases it at once for a child process to bind.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
