namespace Pitchly.AspNetCore;

/// <summary>
/// The fence of a refresh: written into a <see cref="PitchlyTokenRecord"/> by compare-and-swap before its refresh
/// token is presented to Pitchly, it says that <see cref="Owner"/> is spending that refresh token and will never send
/// the request after <see cref="Deadline"/>. Anyone else who reads a record with a live intent waits for the new record
/// instead of presenting the same refresh token; only after the deadline may another owner claim the record.
/// </summary>
/// <param name="Owner">An opaque value that identifies one refresh attempt (not a user, not an instance name).</param>
/// <param name="Deadline">
/// When the intent lapses, on the store's clock: the owner sends nothing after it and has given up on its request by then.
/// </param>
public sealed record PitchlyRefreshIntent(string Owner, DateTimeOffset Deadline);
