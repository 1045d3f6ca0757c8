namespace Pitchly.AspNetCore;

/// <summary>
/// One sign-in of a person: a browser or device whose authentication cookie carries <see cref="Id"/> in the
/// <see cref="PitchlyClaimTypes.SessionId"/> claim. The person's live sessions are kept with their tokens
/// (<see cref="PitchlyTokenRecord.Sessions"/>); a cookie whose session is no longer there is rejected.
/// </summary>
/// <param name="Id">An opaque, random value that identifies the sign-in (not a token: it grants nothing without the cookie).</param>
/// <param name="CreatedAt">When the sign-in happened.</param>
public sealed record PitchlySession(string Id, DateTimeOffset CreatedAt);
