namespace Pitchly.AspNetCore.Internal.TokenManagement;

/// <summary>
/// One refresh in flight, shared by every caller of its key: its request and the task they wait on. Settling it
/// leaves the single flight first, so a caller woken by the result that needs another refresh starts a new one
/// instead of joining this finished one.
/// </summary>
internal sealed class SharedRefresh
{
    private readonly TaskCompletionSource<PitchlyAccessToken> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly RefreshFlight _flight;

    public SharedRefresh(RefreshRequest request, RefreshFlight flight)
    {
        Request = request;
        _flight = flight;
    }

    public RefreshRequest Request { get; }

    public Task<PitchlyAccessToken> Task => _completion.Task;

    /// <summary>Whether the callers have their answer (a refresh settles them before it releases its lock).</summary>
    public bool IsSettled => _completion.Task.IsCompleted;

    public void Succeed(PitchlyAccessToken token)
    {
        _flight.Backoff?.Succeeded(Request.Key);
        _flight.Leave(Request.Key, Task);
        _completion.TrySetResult(token);
    }

    public void Fail(Exception exception)
    {
        // Before leaving the flight: a call that finds no refresh running then finds the key backing off. A sign-in
        // required is definitive (the record is gone); anything else may pass, and renewals wait for the interval.
        try
        {
            if (exception is not PitchlySignInRequiredException)
            {
                _flight.Backoff?.Failed(Request.Key);
            }
        }
        finally
        {
            _flight.Leave(Request.Key, Task);
            _completion.TrySetException(exception);
        }
    }
}
