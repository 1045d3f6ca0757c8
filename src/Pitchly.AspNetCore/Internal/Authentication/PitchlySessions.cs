using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.AspNetCore.WebUtilities;

namespace Pitchly.AspNetCore.Internal.Authentication;

/// <summary>
/// The live sign-ins of a person, kept in their token record (<see cref="PitchlyTokenRecord.Sessions"/>): added at
/// sign-in, ended one at a time at sign-out, all at once by "sign out everywhere" or when the record goes.
/// </summary>
/// <remarks>
/// Every change is a compare-and-swap on the record's version, retried on a fresh read. A change of the sessions alone
/// (ending one of several) keeps the tokens, so it must never clear the fence of a refresh in flight (every write but
/// the fence's own clears it): it first takes the fence itself (<see cref="IPitchlyTokenStore.TryBeginRefreshAsync"/>,
/// refused while another owner's fence is live, on the store's clock), then swaps the record with the session removed,
/// which releases it. A refresh therefore never meets a record whose version moved for a session change, and its
/// compare-and-swap keeps the sessions it read (<c>TokenGrant</c>).
/// </remarks>
internal static class PitchlySessions
{
    /// <summary>
    /// The most sessions kept per person; a sign-in beyond it ends the oldest. Bounds the record (every session costs a
    /// few dozen bytes in every read of the person's tokens) and the cookies left behind on forgotten devices.
    /// </summary>
    public const int MaxSessionsPerPerson = 20;

    // Compare-and-swap attempts before a change gives up; each loses only to another write of the same person's record.
    private const int MaxAttempts = 32;

    // How long a session change holds the record: a crashed sign-out delays that person's refresh by at most this.
    private static readonly TimeSpan EditFenceLifetime = TimeSpan.FromSeconds(5);

    // How long a sign-out waits for a refresh in flight to store its tokens before giving up on ending the session.
    private static readonly TimeSpan FencedWaitLimit = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan FencedPollInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>A new, random session id: 128 bits, base64url.</summary>
    public static string NewId() => WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(16));

    /// <summary>The session id the principal's cookie carries, when it was issued by a sign-in that tracks sessions.</summary>
    public static string? IdOf(ClaimsPrincipal? principal) => principal?.FindFirst(PitchlyClaimTypes.SessionId)?.Value is { Length: > 0 } id ? id : null;

    /// <summary>Whether <paramref name="record"/> lets the cookie of session <paramref name="sessionId"/> in: untracked records let every cookie in.</summary>
    public static bool IsLive(PitchlyTokenRecord? record, string sessionId)
        => record is not null && (record.Sessions is null || IndexOf(record.Sessions, sessionId) >= 0);

    /// <summary>
    /// Stores the tokens of a new sign-in with <paramref name="session"/> added to the person's live sessions, keeping the
    /// newest <see cref="MaxSessionsPerPerson"/>. Like the unconditional write it replaces, it overwrites older tokens
    /// and a refresh's fence (the refresh then finds newer tokens stored and uses them).
    /// </summary>
    /// <returns>The stored record and how many older sessions were dropped to stay within the bound.</returns>
    public static async Task<(PitchlyTokenRecord Stored, int Dropped)> SignInAsync(
        IPitchlyTokenStore store, PitchlyTokenKey key, PitchlyTokenRecord tokens, PitchlySession session, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var current = await store.GetAsync(key, cancellationToken);
            var (sessions, dropped) = Add(current?.Sessions, session);
            var record = tokens with { Sessions = sessions };
            if (await store.TryReplaceAsync(key, current?.Version ?? 0, record, cancellationToken) is { } stored)
            {
                return (stored, dropped);
            }

            if (attempt == MaxAttempts)
            {
                // Writes of this one person's record kept winning the race: the sign-in must still keep its tokens.
                return (await store.SetAsync(key, record, cancellationToken), dropped);
            }
        }
    }

    /// <summary>
    /// Ends session <paramref name="sessionId"/> (<see langword="null"/>: a cookie issued before sessions were tracked) of
    /// <paramref name="key"/>, removing the record when no session is left.
    /// </summary>
    public static async Task<SignOutResult> EndAsync(
        IPitchlyTokenStore store, PitchlyTokenKey key, string? sessionId, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var conflicts = 0;
        long? fencedSince = null;
        while (true)
        {
            var current = await store.GetAsync(key, cancellationToken);
            if (current is null)
            {
                return new SignOutResult(SignOutOutcome.AlreadyEnded, 0);
            }

            // Untracked (no sessions listed): the record is the person's only, as before sessions existed.
            if (current.Sessions is { Count: > 0 } sessions)
            {
                if (sessionId is null)
                {
                    // A cookie from before sessions were tracked, while later sign-ins are: their tokens stay.
                    return new SignOutResult(SignOutOutcome.Untracked, sessions.Count);
                }

                if (IndexOf(sessions, sessionId) < 0)
                {
                    return new SignOutResult(SignOutOutcome.AlreadyEnded, sessions.Count);
                }
            }

            if (current.Sessions is not { Count: > 1 })
            {
                if (await store.RemoveAsync(key, current.Version, cancellationToken))
                {
                    return new SignOutResult(SignOutOutcome.RecordRemoved, 0);
                }
            }
            else if (await store.TryBeginRefreshAsync(key, current.Version, "session-end:" + NewId(), EditFenceLifetime, cancellationToken) is { } fenced)
            {
                var remaining = Remove(fenced.Sessions ?? current.Sessions, sessionId!);
                if (await store.TryReplaceAsync(key, fenced.Version, fenced with { Sessions = remaining, RefreshIntent = null }, cancellationToken) is not null)
                {
                    return new SignOutResult(SignOutOutcome.SessionEnded, remaining.Count);
                }
            }
            else if (current.RefreshIntent is not null)
            {
                // Most likely a refresh spending the refresh token: its write must find the version it fenced. Wait for it.
                fencedSince ??= timeProvider.GetTimestamp();
                if (timeProvider.GetElapsedTime(fencedSince.Value) > FencedWaitLimit)
                {
                    return new SignOutResult(SignOutOutcome.Fenced, current.Sessions.Count);
                }

                await Task.Delay(FencedPollInterval, timeProvider, cancellationToken);
                continue;
            }

            if (++conflicts == MaxAttempts)
            {
                return new SignOutResult(SignOutOutcome.Contended, current.Sessions?.Count ?? 0);
            }
        }
    }

    private static (IReadOnlyList<PitchlySession> Sessions, int Dropped) Add(IReadOnlyList<PitchlySession>? existing, PitchlySession session)
    {
        existing ??= [];
        var kept = existing.Where(s => s.Id != session.Id).OrderBy(s => s.CreatedAt).ToList();
        var dropped = Math.Max(0, kept.Count + 1 - MaxSessionsPerPerson);
        kept.RemoveRange(0, dropped);
        kept.Add(session);
        return (kept.AsReadOnly(), dropped);
    }

    private static IReadOnlyList<PitchlySession> Remove(IReadOnlyList<PitchlySession> sessions, string sessionId)
        => sessions.Where(s => !string.Equals(s.Id, sessionId, StringComparison.Ordinal)).ToList().AsReadOnly();

    private static int IndexOf(IReadOnlyList<PitchlySession> sessions, string sessionId)
    {
        for (var i = 0; i < sessions.Count; i++)
        {
            if (string.Equals(sessions[i].Id, sessionId, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}

/// <summary>How a sign-out ended, for its log line.</summary>
internal enum SignOutOutcome
{
    /// <summary>This session ended; others remain.</summary>
    SessionEnded,

    /// <summary>This was the last session (or sessions are not tracked): the record is removed.</summary>
    RecordRemoved,

    /// <summary>The session had already ended, or the record was gone.</summary>
    AlreadyEnded,

    /// <summary>The cookie carries no session while the record tracks others: nothing changed.</summary>
    Untracked,

    /// <summary>A refresh kept the record fenced longer than a sign-out waits: the session stays.</summary>
    Fenced,

    /// <summary>Other writes kept winning the compare-and-swap: the session stays.</summary>
    Contended,
}

/// <summary>A sign-out's outcome and the sessions left.</summary>
internal readonly record struct SignOutResult(SignOutOutcome Outcome, int Remaining);
