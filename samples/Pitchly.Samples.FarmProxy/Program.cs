// The farm's proxy, run by samples/Pitchly.Samples.AppHost: round robin, no session affinity, over every instance the
// app host references (services__mvc-1__http__0=http://localhost:…, the Aspire service-discovery settings), so
// consecutive requests of one browser land on different instances. The original Host header goes through, so each
// instance builds the sign-in callback URL on the proxy's address.
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.LoadBalancing;

var builder = WebApplication.CreateBuilder(args);
builder.Logging.AddFilter("Yarp", LogLevel.Warning);

var destinations = builder.Configuration.GetSection("services").GetChildren()
    .Where(service => service.Key.StartsWith("mvc", StringComparison.Ordinal))
    .Select(service => (service.Key, Address: service.GetSection("http").GetChildren().Select(address => address.Value).FirstOrDefault(address => address is { Length: > 0 })))
    .Where(service => service.Address is not null)
    .ToDictionary(service => service.Key, service => new DestinationConfig { Address = service.Address! });
if (destinations.Count == 0)
{
    throw new InvalidOperationException("No MVC instance to proxy: run this from samples/Pitchly.Samples.AppHost, which references them.");
}

builder.Services.AddReverseProxy().LoadFromMemory(
    [
        new RouteConfig
        {
            RouteId = "mvc",
            ClusterId = "mvc",
            Match = new RouteMatch { Path = "{**catch-all}" },
            Transforms = [new Dictionary<string, string> { ["RequestHeaderOriginalHost"] = "true" }],
        },
    ],
    [
        new ClusterConfig
        {
            ClusterId = "mvc",
            LoadBalancingPolicy = LoadBalancingPolicies.RoundRobin,
            Destinations = destinations,
        },
    ]);

var app = builder.Build();
app.MapReverseProxy();
app.Run();
