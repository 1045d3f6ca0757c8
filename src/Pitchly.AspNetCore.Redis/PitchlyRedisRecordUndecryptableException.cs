namespace Pitchly.AspNetCore.Redis;

/// <summary>
/// A token record in Redis could not be decrypted with this instance's Data Protection keys and was kept: an install
/// record (which no sign-in could restore), or any record while this instance has not shown that it shares the key ring
/// of the instances that wrote them. Retryable like every <see cref="PitchlyTokenStoreUnavailableException"/>: the
/// record reads again once the instance has the right application name and key ring.
/// </summary>
public class PitchlyRedisRecordUndecryptableException : PitchlyTokenStoreUnavailableException
{
    /// <summary>Initializes a new instance.</summary>
    public PitchlyRedisRecordUndecryptableException()
        : this("A record of Pitchly's Redis token store could not be decrypted with this instance's Data Protection keys; it was kept.")
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public PitchlyRedisRecordUndecryptableException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and the underlying cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The underlying cause.</param>
    public PitchlyRedisRecordUndecryptableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
