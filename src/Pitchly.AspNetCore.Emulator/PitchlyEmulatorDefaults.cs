namespace Pitchly.AspNetCore.Emulator;

/// <summary>
/// The emulator's fixed client, organizations, people and paths. The client secret is published here on purpose:
/// it is not a secret and must never be used against the real Pitchly.
/// </summary>
public static class PitchlyEmulatorDefaults
{
    /// <summary>The configuration section the emulator's options are bound from.</summary>
    public const string ConfigurationSection = "Pitchly:Emulator";

    /// <summary>The App ID of the default client.</summary>
    public const string ClientId = "appEmulatorClient0001";

    /// <summary>The App Secret of the default client. Published, hence not a secret: for the emulator only.</summary>
    public const string ClientSecret = "plys_EmulatorOnlyNotASecretPublishedInTheSources";

    /// <summary>Every scope an install grants the default client; a token request's <c>scope</c> may only narrow it.</summary>
    public const string Scope = "records:read records:update workspaces:read workspace_members:read teams:read";

    /// <summary>The scope a GraphQL mutation requires.</summary>
    public const string WriteScope = "records:update";

    /// <summary>The path of the authorization endpoint.</summary>
    public const string AuthorizationPath = "/oauth/authorize";

    /// <summary>The path of the token endpoint.</summary>
    public const string TokenPath = "/api/oauth/token";

    /// <summary>The path of the GraphQL endpoint.</summary>
    public const string GraphQLPath = "/graphql";

    /// <summary>The path of the GraphQL subscriptions endpoint (WebSocket, <c>graphql-transport-ws</c> subprotocol).</summary>
    public const string SubscriptionsPath = "/subscriptions";

    /// <summary>The id of the first organization, Acme Analytics: Ada Lovelace and Grace Hopper belong to it.</summary>
    public const string AcmeOrganizationId = "orgAcmeAnalytics0001";

    /// <summary>The name of the first organization.</summary>
    public const string AcmeOrganizationName = "Acme Analytics";

    /// <summary>The id of the second organization, Globex Research: Alan Turing belongs to it.</summary>
    public const string GlobexOrganizationId = "orgGlobexResearch001";

    /// <summary>The name of the second organization.</summary>
    public const string GlobexOrganizationName = "Globex Research";

    /// <summary>Ada Lovelace's person id (Acme Analytics); the first seeded user, whom auto-approval signs in.</summary>
    public const string AdaLovelacePersonId = "psnAdaLovelace000001";

    /// <summary>Ada Lovelace's name.</summary>
    public const string AdaLovelaceName = "Ada Lovelace";

    /// <summary>Ada Lovelace's e-mail address.</summary>
    public const string AdaLovelaceEmail = "ada.lovelace@acme-analytics.example";

    /// <summary>Ada Lovelace's picture (an inline SVG, so it shows without a network).</summary>
    public const string AdaLovelaceImage = AvatarStart + "%236a1b9a" + AvatarMiddle + "AL" + AvatarEnd;

    /// <summary>Grace Hopper's person id (Acme Analytics).</summary>
    public const string GraceHopperPersonId = "psnGraceHopper000001";

    /// <summary>Grace Hopper's name.</summary>
    public const string GraceHopperName = "Grace Hopper";

    /// <summary>Grace Hopper's e-mail address.</summary>
    public const string GraceHopperEmail = "grace.hopper@acme-analytics.example";

    /// <summary>Grace Hopper's picture (an inline SVG).</summary>
    public const string GraceHopperImage = AvatarStart + "%2300695c" + AvatarMiddle + "GH" + AvatarEnd;

    /// <summary>Alan Turing's person id (Globex Research).</summary>
    public const string AlanTuringPersonId = "psnAlanTuring0000001";

    /// <summary>Alan Turing's name.</summary>
    public const string AlanTuringName = "Alan Turing";

    /// <summary>Alan Turing's e-mail address.</summary>
    public const string AlanTuringEmail = "alan.turing@globex-research.example";

    /// <summary>Alan Turing's picture (an inline SVG).</summary>
    public const string AlanTuringImage = AvatarStart + "%23c62828" + AvatarMiddle + "AT" + AvatarEnd;

    private const string AvatarStart =
        "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='64' height='64'%3E%3Crect width='64' height='64' rx='32' fill='";

    private const string AvatarMiddle =
        "'/%3E%3Ctext x='32' y='41' font-family='sans-serif' font-size='24' fill='white' text-anchor='middle'%3E";

    private const string AvatarEnd = "%3C/text%3E%3C/svg%3E";

    /// <summary>Gets the seeded people, in order; <see cref="PitchlyEmulatorOptions.GeneratedUsers"/> adds more after them.</summary>
    public static IReadOnlyList<PitchlyEmulatorUser> Users { get; } =
    [
        new(AdaLovelacePersonId, AcmeOrganizationId, AdaLovelaceName, AdaLovelaceEmail, AdaLovelaceImage),
        new(GraceHopperPersonId, AcmeOrganizationId, GraceHopperName, GraceHopperEmail, GraceHopperImage),
        new(AlanTuringPersonId, GlobexOrganizationId, AlanTuringName, AlanTuringEmail, AlanTuringImage),
    ];

    internal static PitchlyEmulatorUser GeneratedUser(int number) => new(
        $"psnLoad{number:D13}",
        AcmeOrganizationId,
        $"Load User {number}",
        $"load.user.{number}@acme-analytics.example",
        AvatarStart + "%23455a64" + AvatarMiddle + "LU" + AvatarEnd);
}
