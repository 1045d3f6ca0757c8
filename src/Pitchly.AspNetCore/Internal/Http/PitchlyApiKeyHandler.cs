using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.Http;

/// <summary>
/// The legacy API-key mode: writes the App Secret into each GraphQL body as the variable <c>secretKey</c>. API keys do
/// not expire, so nothing is refreshed or replayed. A request to an origin that may not receive the secret
/// (<see cref="CredentialOrigins"/>) is refused before the secret is read.
/// </summary>
internal sealed class PitchlyApiKeyHandler : DelegatingHandler
{
    internal const string SecretKeyVariable = "secretKey";

    private static readonly GraphQLBodyWriter.VariableName SecretKeyVariableName = new(SecretKeyVariable);

    private readonly IOptionsMonitor<PitchlyTokenManagementOptions> _tokenOptions;
    private readonly PitchlyAccessTokenHandlerOptions _options;
    private readonly CredentialOrigins _origins;

    public PitchlyApiKeyHandler(IOptionsMonitor<PitchlyTokenManagementOptions> tokenOptions, PitchlyAccessTokenHandlerOptions options, CredentialOrigins origins)
    {
        _tokenOptions = tokenOptions;
        _options = options;
        _origins = origins;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        _origins.ThrowIfNotAllowed(request);
        RequestTokenKey.ThrowIfPresent(request, "the App Secret (AddPitchlyApiKey)");
        var secret = _tokenOptions.CurrentValue.ClientSecret;
        if (string.IsNullOrEmpty(secret))
        {
            throw new PitchlyException("The Pitchly API-key mode needs the App Secret: set Pitchly:ClientSecret.");
        }

        if (request.Method == HttpMethod.Get || !RequestBody.IsJsonMediaType(request.Content?.Headers))
        {
            return await base.SendAsync(request, cancellationToken);
        }

        var body = await RequestBody.CaptureAsync(request, _options.MaxRequestBufferSize, cancellationToken);
        if (!body.CanReplay)
        {
            throw new PitchlyException(
                $"The GraphQL request body is larger than {_options.MaxRequestBufferSize} bytes, so the secretKey variable cannot be written into it. Raise PitchlyAccessTokenHandlerOptions.MaxRequestBufferSize.");
        }

        body.Apply(request, GraphQLBodyWriter.TrySetVariable(body.Bytes, SecretKeyVariableName, secret));
        return await base.SendAsync(request, cancellationToken);
    }
}
