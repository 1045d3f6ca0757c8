using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.Http;

/// <summary>Checks the access-token handler's settings at start-up, naming the configuration key to fix.</summary>
internal sealed class ValidatePitchlyAccessTokenHandlerOptions(IHostEnvironment? environment = null) : IValidateOptions<PitchlyAccessTokenHandlerOptions>
{
    private const string Section = ConfigurePitchlyAccessTokenHandlerOptions.SectionName;

    public ValidateOptionsResult Validate(string? name, PitchlyAccessTokenHandlerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.Placement is not (PitchlyTokenPlacement.AuthorizationHeader or PitchlyTokenPlacement.GraphQLVariable or PitchlyTokenPlacement.Both))
        {
            failures.Add($"{Section}:Placement must be AuthorizationHeader (current platform), GraphQLVariable (legacy API) or Both; it is {options.Placement}.");
        }

        if (options.MaxRequestBufferSize < 0)
        {
            failures.Add($"{Section}:MaxRequestBufferSize must be zero (never replay) or a positive number of bytes; it is {options.MaxRequestBufferSize}.");
        }

        if (options.MaxResponseInspectionSize <= 0)
        {
            failures.Add($"{Section}:MaxResponseInspectionSize must be a positive number of bytes; it is {options.MaxResponseInspectionSize}.");
        }

        if (options.InvalidTokenErrorCodes.Any(string.IsNullOrWhiteSpace))
        {
            failures.Add($"{Section}:InvalidTokenErrorCodes must not contain an empty code; list codes such as UNAUTHENTICATED and token-invalid.");
        }

        foreach (var origin in options.AllowedOrigins)
        {
            if (!CredentialOrigins.TryParse(origin, out _))
            {
                failures.Add($"{Section}:AllowedOrigins must list origins only (scheme, host and port, such as https://pitchly-gateway.example.com); '{origin}' is not one.");
            }
            else if (PitchlyEndpointRule.IsRefusedHttp(new Uri(origin), environment))
            {
                failures.Add($"{Section}:AllowedOrigins: {PitchlyEndpointRule.RefusedHttpMessage("The origin", origin, Section + ":AllowedOrigins")}");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
