namespace Pitchly.AspNetCore.Storm.Instance;

/// <summary>
/// What one <c>/work</c> call's GraphQL request went through, filled by <see cref="ProbeHandler"/> (which sits
/// between the access-token handler and the network) and flowed to it by <see cref="AsyncLocal{T}"/>.
/// </summary>
internal sealed class WorkProbe
{
    private static readonly AsyncLocal<WorkProbe?> CurrentProbe = new();

    private WorkProbe(PitchlyTokenKey key) => Key = key;

    public static WorkProbe? Current => CurrentProbe.Value;

    public PitchlyTokenKey Key { get; }

    public int Attempts { get; set; }

    public string? TokenFingerprint { get; set; }

    /// <summary>Gets the number of this user's refreshes this instance had finished when the last attempt was sent.</summary>
    public long RefreshesEndedAtLastAttempt { get; set; }

    public static WorkProbe Start(PitchlyTokenKey key)
    {
        var probe = new WorkProbe(key);
        CurrentProbe.Value = probe;
        return probe;
    }
}
