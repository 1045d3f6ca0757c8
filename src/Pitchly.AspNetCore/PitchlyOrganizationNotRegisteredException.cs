namespace Pitchly.AspNetCore;

/// <summary>
/// An install key of an organization the app has not registered
/// (<see cref="PitchlyTokenManagementOptions.ClientCredentialsOrganizations"/>) has no stored tokens, or none it can
/// refresh, and would have been given tokens with the <c>client_credentials</c> grant; no token request was sent. Usually
/// the install key was built from a tenant the caller chose (a header, a route value) rather than from an authenticated
/// context; otherwise register the organization, or connect the install through the App SDK exchange. Not retryable as is.
/// </summary>
public class PitchlyOrganizationNotRegisteredException : PitchlyException
{
    /// <summary>Initializes a new instance.</summary>
    public PitchlyOrganizationNotRegisteredException()
        : this("The organization is not registered for client_credentials (Pitchly:TokenManagement:ClientCredentialsOrganizations); no token was requested.")
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public PitchlyOrganizationNotRegisteredException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and the underlying cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The underlying cause.</param>
    public PitchlyOrganizationNotRegisteredException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance for the install key that was refused.</summary>
    /// <param name="key">The install key whose organization is not registered.</param>
    /// <param name="message">What went wrong.</param>
    public PitchlyOrganizationNotRegisteredException(PitchlyTokenKey key, string message)
        : base(message)
    {
        ArgumentNullException.ThrowIfNull(key);
        Key = key;
    }

    /// <summary>Gets the install key whose organization is not registered, when known.</summary>
    public PitchlyTokenKey? Key { get; }
}
