namespace Pitchly.AspNetCore.Internal.TokenExchange;

/// <summary>What Pitchly's GraphQL API said of exchanged tokens: their organization, and whether it confirmed the claimed database.</summary>
/// <param name="OrganizationId">The organization the tokens belong to.</param>
/// <param name="DatabaseConfirmed">Whether Pitchly answered, without error, with the claimed database for these tokens.</param>
internal sealed record InstallVerification(string OrganizationId, bool DatabaseConfirmed);
