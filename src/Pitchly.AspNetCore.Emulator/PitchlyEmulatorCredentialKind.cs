namespace Pitchly.AspNetCore.Emulator;

/// <summary>What kind of credential a GraphQL request presented.</summary>
public enum PitchlyEmulatorCredentialKind
{
    /// <summary>No credential, or one the emulator does not recognise.</summary>
    None,

    /// <summary>A user's access token from the authorization code grant.</summary>
    UserAccessToken,

    /// <summary>An app-level access token for one install, from the client credentials or token exchange grant.</summary>
    InstallAccessToken,

    /// <summary>A short-lived token such as the App SDK gives a browser (<see cref="PitchlyEmulator.IssueAppSdkToken"/>).</summary>
    AppSdkToken,

    /// <summary>An HS256 JWT the app signed itself with its client secret.</summary>
    SelfSignedJwt,

    /// <summary>The app's client secret used as a legacy <c>secretKey</c> (API key).</summary>
    SecretKey,
}
