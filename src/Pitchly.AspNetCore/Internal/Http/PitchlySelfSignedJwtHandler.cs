using System.Buffers.Text;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.Http;

/// <summary>
/// The current platform's self-signed token for an app's own organization: an HS256 JWT with <c>iss</c> = the App ID,
/// signed with the App Secret's UTF-8 bytes, sent as <c>Authorization: Bearer</c>. One token is minted and reused
/// until shortly before its <c>exp</c>. A request to an origin that may not receive it (<see cref="CredentialOrigins"/>)
/// is refused before one is minted.
/// </summary>
internal sealed class PitchlySelfSignedJwtHandler : DelegatingHandler
{
    private readonly IOptionsMonitor<PitchlyTokenManagementOptions> _tokenOptions;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _lifetime;
    private readonly CredentialOrigins _origins;
    // A reference swapped whole: a nullable tuple is several words wide and could be read half-written by another thread.
    private CachedJwt? _current;

    public PitchlySelfSignedJwtHandler(IOptionsMonitor<PitchlyTokenManagementOptions> tokenOptions, TimeProvider timeProvider, TimeSpan lifetime, CredentialOrigins origins)
    {
        _tokenOptions = tokenOptions;
        _timeProvider = timeProvider;
        _lifetime = lifetime;
        _origins = origins;
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        _origins.ThrowIfNotAllowed(request);
        RequestTokenKey.ThrowIfPresent(request, "a self-signed token of the app (AddPitchlySelfSignedJwt)");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", GetJwt());
        return base.SendAsync(request, cancellationToken);
    }

    internal string GetJwt()
    {
        var now = _timeProvider.GetUtcNow();
        if (Volatile.Read(ref _current) is { } current && now < current.RenewAt)
        {
            return current.Jwt;
        }

        var options = _tokenOptions.CurrentValue;
        if (string.IsNullOrEmpty(options.ClientId) || string.IsNullOrEmpty(options.ClientSecret))
        {
            throw new PitchlyException("A self-signed Pitchly token needs the App ID and App Secret: set Pitchly:ClientId and Pitchly:ClientSecret.");
        }

        var jwt = Mint(options.ClientId, options.ClientSecret, now, now + _lifetime);

        // Renewed at two thirds of its lifetime, so a token never reaches Pitchly about to expire.
        Volatile.Write(ref _current, new CachedJwt(jwt, now + (_lifetime * 2 / 3)));
        return jwt;
    }

    internal static string Mint(string clientId, string clientSecret, DateTimeOffset issuedAt, DateTimeOffset expiresAt)
    {
        var header = Base64Url.EncodeToString("{\"alg\":\"HS256\",\"typ\":\"JWT\"}"u8);
        using var payloadBuffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(payloadBuffer))
        {
            writer.WriteStartObject();
            writer.WriteString("iss", clientId);
            writer.WriteNumber("iat", issuedAt.ToUnixTimeSeconds());
            writer.WriteNumber("exp", expiresAt.ToUnixTimeSeconds());
            writer.WriteEndObject();
        }

        var signingInput = $"{header}.{Base64Url.EncodeToString(payloadBuffer.ToArray())}";
        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(clientSecret), Encoding.ASCII.GetBytes(signingInput));
        return $"{signingInput}.{Base64Url.EncodeToString(signature)}";
    }

    private sealed record CachedJwt(string Jwt, DateTimeOffset RenewAt);
}
