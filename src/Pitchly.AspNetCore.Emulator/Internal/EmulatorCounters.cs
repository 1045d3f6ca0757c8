namespace Pitchly.AspNetCore.Emulator.Internal;

/// <summary>The emulator's counters, incremented with <see cref="Interlocked"/> from concurrent requests.</summary>
internal sealed class EmulatorCounters
{
    public long TokenRequests;
    public long AuthorizationRequests;
    public long AuthorizationCodeGrants;
    public long RefreshGrants;
    public long ClientCredentialsGrants;
    public long TokenExchangeGrants;
    public long RefreshTokenReuse;
    public long RevokedFamilies;
    public long AuthorizationCodeReplays;
    public long FailedTokenRequests;
    public long InjectedFaults;
    public long AccessTokensIssued;
    public long GraphQLRequests;
    public long GraphQLUnauthenticated;
    public long GraphQLForbidden;
    public long EarlyInvalidations;
    public long SubscriptionConnections;
    public long SubscriptionOperations;
    public long SubscriptionEvents;
    public long SubscriptionTokenRejections;

    public PitchlyEmulatorStats Snapshot() => new()
    {
        TokenRequests = Interlocked.Read(ref TokenRequests),
        AuthorizationRequests = Interlocked.Read(ref AuthorizationRequests),
        AuthorizationCodeGrants = Interlocked.Read(ref AuthorizationCodeGrants),
        RefreshGrants = Interlocked.Read(ref RefreshGrants),
        ClientCredentialsGrants = Interlocked.Read(ref ClientCredentialsGrants),
        TokenExchangeGrants = Interlocked.Read(ref TokenExchangeGrants),
        RefreshTokenReuse = Interlocked.Read(ref RefreshTokenReuse),
        RevokedFamilies = Interlocked.Read(ref RevokedFamilies),
        AuthorizationCodeReplays = Interlocked.Read(ref AuthorizationCodeReplays),
        FailedTokenRequests = Interlocked.Read(ref FailedTokenRequests),
        InjectedFaults = Interlocked.Read(ref InjectedFaults),
        AccessTokensIssued = Interlocked.Read(ref AccessTokensIssued),
        GraphQLRequests = Interlocked.Read(ref GraphQLRequests),
        GraphQLUnauthenticated = Interlocked.Read(ref GraphQLUnauthenticated),
        GraphQLForbidden = Interlocked.Read(ref GraphQLForbidden),
        EarlyInvalidations = Interlocked.Read(ref EarlyInvalidations),
        SubscriptionConnections = Interlocked.Read(ref SubscriptionConnections),
        SubscriptionOperations = Interlocked.Read(ref SubscriptionOperations),
        SubscriptionEvents = Interlocked.Read(ref SubscriptionEvents),
        SubscriptionTokenRejections = Interlocked.Read(ref SubscriptionTokenRejections),
    };

    public void Reset()
    {
        Interlocked.Exchange(ref TokenRequests, 0);
        Interlocked.Exchange(ref AuthorizationRequests, 0);
        Interlocked.Exchange(ref AuthorizationCodeGrants, 0);
        Interlocked.Exchange(ref RefreshGrants, 0);
        Interlocked.Exchange(ref ClientCredentialsGrants, 0);
        Interlocked.Exchange(ref TokenExchangeGrants, 0);
        Interlocked.Exchange(ref RefreshTokenReuse, 0);
        Interlocked.Exchange(ref RevokedFamilies, 0);
        Interlocked.Exchange(ref AuthorizationCodeReplays, 0);
        Interlocked.Exchange(ref FailedTokenRequests, 0);
        Interlocked.Exchange(ref InjectedFaults, 0);
        Interlocked.Exchange(ref AccessTokensIssued, 0);
        Interlocked.Exchange(ref GraphQLRequests, 0);
        Interlocked.Exchange(ref GraphQLUnauthenticated, 0);
        Interlocked.Exchange(ref GraphQLForbidden, 0);
        Interlocked.Exchange(ref EarlyInvalidations, 0);
        Interlocked.Exchange(ref SubscriptionConnections, 0);
        Interlocked.Exchange(ref SubscriptionOperations, 0);
        Interlocked.Exchange(ref SubscriptionEvents, 0);
        Interlocked.Exchange(ref SubscriptionTokenRejections, 0);
    }
}
