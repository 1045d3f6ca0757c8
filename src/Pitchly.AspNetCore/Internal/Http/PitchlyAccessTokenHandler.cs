using System.Buffers;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Pitchly.AspNetCore.Internal.Replay;

namespace Pitchly.AspNetCore.Internal.Http;

/// <summary>
/// Attaches the access token of the key resolved for each request, recognises Pitchly's invalid-token answers
/// (<see cref="InvalidTokenRule"/>), refreshes with the token that failed and replays the request under the replay rule
/// (<see cref="ReplaySequence"/>, within the refresh timeout); the <see cref="RejectedTokenBreaker"/> stops a key whose
/// tokens are all rejected from rotating in a loop. A request to an origin that may not receive the token
/// (<see cref="CredentialOrigins"/>) is refused before the key is resolved or a token read. The key is the request's
/// own (<see cref="PitchlyHttpRequestOptions.TokenKey"/>) when it carries one, else the client's resolver's. Pooled by IHttpClientFactory
/// and shared by every user, so it keeps no token and no key between requests.
/// </summary>
internal sealed partial class PitchlyAccessTokenHandler : DelegatingHandler
{
    internal const string AccessTokenVariable = "accessToken";

    private static readonly GraphQLBodyWriter.VariableName AccessTokenVariableName = new(AccessTokenVariable);

    // "Bearer <token>" by token instance; an entry lives as long as its token string, so rotated tokens drop out.
    private static readonly ConditionalWeakTable<string, BearerValue> BearerHeaderValues = new();

    // The type of SocketsHttpHandler's response content (internal), whose stream is handed over as it is.
    private static readonly Type? SocketsResponseContent = typeof(SocketsHttpHandler).Assembly.GetType("System.Net.Http.HttpConnectionResponseContent");

    // Enough for {"data":{ behind any realistic whitespace; a response that needs more is read in full (up to the cap).
    private const int PeekSize = 4096;

    // The first read of an answer that cannot seek: {"data":{ is 9 bytes, 16 with CRLF and a 4-space indent. An array
    // of this size, owned by the stream that hands it back, costs less than renting and returning 4 KB, and a large
    // answer is no longer copied 4 KB in and out before the caller reads it. Undecided after it, the peek goes on in a
    // pooled buffer of PeekSize.
    private const int FirstReadSize = 32;

    private readonly IPitchlyTokenManager _tokenManager;
    private readonly Func<HttpRequestMessage, CancellationToken, ValueTask<PitchlyTokenKey>> _resolveKey;
    private readonly PitchlyAccessTokenHandlerOptions _options;
    private readonly InvalidTokenRule _invalidToken;
    private readonly PitchlyMetrics _metrics;
    private readonly RejectedTokenBreaker _breaker;
    private readonly TimeProvider _timeProvider;
    private readonly CredentialOrigins _origins;
    private readonly ILogger _logger;

    // The pair SetBearer used last (one reference: a racing write only costs a table lookup). The same token again, the
    // common case of a client used by one user at a time, skips the table.
    private BearerValue? _lastBearer;

    public PitchlyAccessTokenHandler(
        IPitchlyTokenManager tokenManager,
        Func<HttpRequestMessage, CancellationToken, ValueTask<PitchlyTokenKey>> resolveKey,
        PitchlyAccessTokenHandlerOptions options,
        PitchlyMetrics metrics,
        RejectedTokenBreaker breaker,
        TimeProvider timeProvider,
        CredentialOrigins origins,
        ILogger<PitchlyAccessTokenHandler> logger)
    {
        _tokenManager = tokenManager;
        _resolveKey = resolveKey;
        _options = options;
        _invalidToken = new InvalidTokenRule(options.InvalidTokenErrorCodes);
        _metrics = metrics;
        _breaker = breaker;
        _timeProvider = timeProvider;
        _origins = origins;
        _logger = logger;
    }

    /// <summary>
    /// The common case without a task of its own: an in-memory (or no) body sent as it is, the token in the header, and
    /// every step completing at once (a cached token, an answer the inner handlers produced synchronously, a success
    /// the peek recognised): the inner handlers' own task is returned. Any other case, or any step that has to wait,
    /// continues in an async method; an exception is returned in the task, as an async method would.
    /// </summary>
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            _origins.ThrowIfNotAllowed(request);

            // A key the request carries (PitchlyHttpRequestOptions.TokenKey) wins over the client's resolver.
            var resolving = RequestTokenKey.Find(request) is { } carried ? new ValueTask<PitchlyTokenKey>(carried) : _resolveKey(request, cancellationToken);
            if (!resolving.IsCompletedSuccessfully)
            {
                return ResolveThenSendAsync(request, resolving, cancellationToken);
            }

            var key = resolving.Result;
            var original = request.Content;
            if (original is GraphQLOperationContent || WritesVariable(request) || !RequestBody.TrySendAsItIs(original, out var body))
            {
                return SendCoreAsync(request, key, cancellationToken);
            }

            var read = _tokenManager.GetAccessTokenAsync(key, cancellationToken);
            if (!read.IsCompletedSuccessfully)
            {
                return SendCoreAsync(request, key, cancellationToken, read);
            }

            var token = read.Result;
            _breaker.ThrowIfPaused(key);
            var sent = SendWithTokenAsync(request, body, contentFactory: null, token, writesVariable: false, cancellationToken);
            if (!sent.IsCompletedSuccessfully)
            {
                return FinishAsync(request, key, body, original, token, sent, verdict: null, cancellationToken);
            }

            var verdict = IsInvalidTokenOrDisposeAsync(sent.Result, cancellationToken);
            if (verdict.IsCompletedSuccessfully && !verdict.Result)
            {
                _breaker.OnSucceeded(key);
                return sent;
            }

            return FinishAsync(request, key, body, original, token, sent, verdict, cancellationToken);
        }
        catch (OperationCanceledException canceled)
        {
            var task = new TaskCompletionSource<HttpResponseMessage>();
            task.SetCanceled(canceled.CancellationToken);
            return task.Task;
        }
        catch (Exception exception)
        {
            return Task.FromException<HttpResponseMessage>(exception);
        }
    }

    /// <summary>A resolver that has to wait (a scoped one reading a database, say): the key first, then every case.</summary>
    private async Task<HttpResponseMessage> ResolveThenSendAsync(HttpRequestMessage request, ValueTask<PitchlyTokenKey> resolving, CancellationToken cancellationToken)
        => await SendCoreAsync(request, await resolving, cancellationToken);

    private bool WritesVariable(HttpRequestMessage request) =>
        (_options.Placement & PitchlyTokenPlacement.GraphQLVariable) != 0 && request.Method != HttpMethod.Get;

    /// <summary>The rest of the common case once a step has to wait: the answer, the peek, and a replay if rejected.</summary>
    private async Task<HttpResponseMessage> FinishAsync(
        HttpRequestMessage request,
        PitchlyTokenKey key,
        RequestBody body,
        HttpContent? original,
        PitchlyAccessToken token,
        Task<HttpResponseMessage> sent,
        ValueTask<bool>? verdict,
        CancellationToken cancellationToken)
    {
        var response = await sent;
        if (!await (verdict ?? IsInvalidTokenOrDisposeAsync(response, cancellationToken)))
        {
            _breaker.OnSucceeded(key);
            return response;
        }

        return await ReplayAsync(request, key, body, original, contentFactory: null, token, writesVariable: false, response, cancellationToken);
    }

    /// <summary>Every case: the body kept as the placement needs, the token read (or <paramref name="read"/> awaited), sent, peeked at, replayed.</summary>
    private async Task<HttpResponseMessage> SendCoreAsync(HttpRequestMessage request, PitchlyTokenKey key, CancellationToken cancellationToken, ValueTask<PitchlyAccessToken>? read = null)
    {
        // Not request.Options: reading them creates them (a dictionary per request).
        var contentFactory = (request.Content as GraphQLOperationContent)?.WithAccessToken;
        var writesVariable = WritesVariable(request);

        // The caller's content: a body sent as it is (nothing kept up front) is read from it if a replay needs it.
        var original = request.Content;
        var body = contentFactory is null ? await RequestBody.CaptureAsync(request, _options.MaxRequestBufferSize, bytesNeeded: writesVariable, cancellationToken) : null;
        if (writesVariable && body is { CanReplay: false, IsJsonContentType: true })
        {
            throw new PitchlyException(
                $"The GraphQL request body is larger than {_options.MaxRequestBufferSize} bytes, so the accessToken variable cannot be written into it. Raise PitchlyAccessTokenHandlerOptions.MaxRequestBufferSize or place the token in the Authorization header.");
        }

        var token = await (read ?? _tokenManager.GetAccessTokenAsync(key, cancellationToken));
        _breaker.ThrowIfPaused(key);
        var response = await SendWithTokenAsync(request, body, contentFactory, token, writesVariable, cancellationToken);
        if (!await IsInvalidTokenOrDisposeAsync(response, cancellationToken))
        {
            _breaker.OnSucceeded(key);
            return response;
        }

        return await ReplayAsync(request, key, body, original, contentFactory, token, writesVariable, response, cancellationToken);
    }

    /// <summary>The slow path: the call was rejected for its token; refresh and replay as the replay rule allows.</summary>
    private async Task<HttpResponseMessage> ReplayAsync(
        HttpRequestMessage request,
        PitchlyTokenKey key,
        RequestBody? body,
        HttpContent? original,
        Func<string?, HttpContent>? contentFactory,
        PitchlyAccessToken token,
        bool writesVariable,
        HttpResponseMessage response,
        CancellationToken cancellationToken)
    {
        // No bound on rejections here: the breaker is the guard, and every rejected token is refreshed (even out of
        // time) so the key's next call finds a live one.
        var replay = new ReplaySequence(_timeProvider, _breaker.ReplayTimeout);
        while (true)
        {
            replay.Rejected(token.Value);
            LogInvalidToken(_logger, key, (int)response.StatusCode);
            PitchlyAccessToken next;
            try
            {
                _breaker.OnRejected(key, token.Value);
                next = await _tokenManager.RefreshAsync(key, token.Value, cancellationToken);
            }
            catch
            {
                response.Dispose();
                throw;
            }

            if (body is not null && !body.CanReplayWith(original, _options.MaxRequestBufferSize))
            {
                response.Dispose();
                throw new PitchlyException(
                    $"Pitchly rejected the access token of {key}. The token was refreshed, but the request was not replayed because its body was larger than {_options.MaxRequestBufferSize} bytes (PitchlyAccessTokenHandlerOptions.MaxRequestBufferSize); send it again.");
            }

            if (!replay.MayReplayWith(next.Value))
            {
                // No newer token to try, or no time left: Pitchly's answer is the caller's.
                LogRejectedAfterRefresh(_logger, key, (int)response.StatusCode, replay.Rejections);
                return response;
            }

            // The same request (method, URI, version, headers, options) with only the token changed.
            response.Dispose();
            if (body is not null)
            {
                body = await body.KeepForReplayAsync(original, cancellationToken);
            }

            _metrics.InvalidTokenRetries.Add(1);
            token = next;
            response = await SendWithTokenAsync(request, body, contentFactory, token, writesVariable, cancellationToken);
            if (!await IsInvalidTokenOrDisposeAsync(response, cancellationToken))
            {
                _breaker.OnSucceeded(key);
                return response;
            }
        }
    }

    private Task<HttpResponseMessage> SendWithTokenAsync(
        HttpRequestMessage request,
        RequestBody? body,
        Func<string?, HttpContent>? contentFactory,
        PitchlyAccessToken token,
        bool writesVariable,
        CancellationToken cancellationToken)
    {
        var variableOnly = (_options.Placement & PitchlyTokenPlacement.Both) == PitchlyTokenPlacement.GraphQLVariable;
        if (body is null)
        {
            if (variableOnly && !writesVariable)
            {
                throw TokenNotPlaced(request);
            }

            request.Content = contentFactory!(writesVariable ? token.Value : null);
        }
        else
        {
            var splice = writesVariable && body.IsJson ? GraphQLBodyWriter.TrySetVariable(body.Bytes, AccessTokenVariableName, token.Value) : null;
            if (variableOnly && splice is null)
            {
                // Sending it anyway would reach Pitchly without any token and fail there less clearly.
                throw TokenNotPlaced(request);
            }

            body.Apply(request, splice);
        }

        if ((_options.Placement & PitchlyTokenPlacement.AuthorizationHeader) != 0)
        {
            SetBearer(request.Headers, token.Value);
        }

        return base.SendAsync(request, cancellationToken);
    }

    /// <summary>
    /// Replaces the Authorization header with <c>Bearer</c> and the token. The header's text is made once per token
    /// (the same string instance while the token is cached) and added as it is, so a call neither allocates nor formats
    /// it; a token with characters outside visible ASCII (never one Pitchly issues) goes through the typed header instead.
    /// </summary>
    private void SetBearer(HttpRequestHeaders headers, string token)
    {
        // Compared by reference: the pair's text was made from this very string.
        var last = Volatile.Read(ref _lastBearer);
        if (last is null || !ReferenceEquals(last.Token, token))
        {
            if (!BearerHeaderValues.TryGetValue(token, out last))
            {
                if (token.AsSpan().ContainsAnyExceptInRange('!', '~'))
                {
                    headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                    return;
                }

                last = BearerHeaderValues.GetValue(token, static token => new BearerValue(token, "Bearer " + token));
            }

            Volatile.Write(ref _lastBearer, last);
        }

        // A request without headers (the common case: the client has no default ones) has no Authorization to remove.
        if (headers.NonValidated.Count != 0)
        {
            headers.Remove("Authorization");
        }

        headers.TryAddWithoutValidation("Authorization", last.Header);
    }

    /// <summary>A token and its header text, made together so one reference read gives a matching pair.</summary>
    private sealed class BearerValue(string token, string header)
    {
        public string Token { get; } = token;

        public string Header { get; } = header;
    }

    private static PitchlyException TokenNotPlaced(HttpRequestMessage request)
        => new($"The {request.Method} request to Pitchly was not sent: the token goes only in the accessToken GraphQL variable (PitchlyTokenPlacement.GraphQLVariable), and it could not be written into this request. The body must be one GraphQL operation: a JSON object sent as application/json, not compressed or batched, whose variables member, if present, is an object. Fix the request, or place the token in the Authorization header too.");

    /// <summary>
    /// Inspects the response; if reading it fails (the connection dropped, the caller gave up), the response is
    /// disposed before the failure propagates, since nobody else holds it and its connection would otherwise leak.
    /// Not an async method: when the peek completes at once (the common case), no state machine runs.
    /// </summary>
    private ValueTask<bool> IsInvalidTokenOrDisposeAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var verdict = IsInvalidTokenAsync(response, cancellationToken);
            return verdict.IsCompletedSuccessfully ? verdict : AwaitOrDisposeAsync(verdict, response);
        }
        catch
        {
            response.Dispose();
            throw;
        }

        static async ValueTask<bool> AwaitOrDisposeAsync(ValueTask<bool> verdict, HttpResponseMessage response)
        {
            try
            {
                return await verdict;
            }
            catch
            {
                response.Dispose();
                throw;
            }
        }
    }

    /// <summary>
    /// Tells whether Pitchly rejected the token. A permission error (HTTP 403, <c>FORBIDDEN</c>, <c>not-authorized</c>)
    /// is not a token error: it is returned to the caller, since a refresh would not change it. Whatever was read
    /// is put back, so the caller receives the same bytes and headers. The first read and its verdict run without a
    /// state machine when they complete at once; anything that has to wait, or a body that must be read in full,
    /// continues in <see cref="ReadOnAsync"/>.
    /// </summary>
    private ValueTask<bool> IsInvalidTokenAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (InvalidTokenRule.IsInvalidTokenStatus(response.StatusCode))
        {
            return new ValueTask<bool>(true);
        }

        // No codes configured: only the status counts, and the answer goes to the caller unread and unwrapped.
        var content = response.Content;
        if (!_invalidToken.ReadsBodies || !InvalidTokenRule.MayCarryInvalidTokenError(response.StatusCode) || !IsJsonOrUntyped(content, out var onlyContentType))
        {
            return new ValueTask<bool>(false);
        }

        if (!ReadsSynchronously(content))
        {
            return ReadOnAsync(response, content, stream: null, buffer: null, length: 0, pending: null, cancellationToken);
        }

        var stream = content.ReadAsStream(cancellationToken);

        // A stream that can seek (buffered content, a MemoryStream) is read and put back where it was: the content keeps
        // the stream it handed out, so the caller reads it from the same start with nothing wrapped or copied. Any other
        // is read into a small array of its own first (FirstReadSize).
        var start = stream.CanSeek ? stream.Position : -1;
        var buffer = start >= 0 ? ArrayPool<byte>.Shared.Rent(PeekSize) : new byte[FirstReadSize];
        var read = stream.ReadAsync(buffer.AsMemory(), cancellationToken);
        if (!read.IsCompletedSuccessfully)
        {
            return ReadOnAsync(response, content, stream, buffer, length: 0, read, cancellationToken);
        }

        var length = read.Result;
        if (PitchlyResponseClassifier.PeekFirstMember(buffer.AsSpan(0, length), isFinalBlock: length == 0) is PitchlyResponseClassifier.FirstMember.DataObject or PitchlyResponseClassifier.FirstMember.NotGraphQL)
        {
            if (start >= 0)
            {
                stream.Position = start;
                buffer.AsSpan(0, length).Clear();
                ArrayPool<byte>.Shared.Return(buffer);
                return new ValueTask<bool>(false);
            }

            // Authenticated (or not GraphQL): hand the rest on as it streams in. The stream owns the array now.
            HandOn(response, content, onlyContentType, stream, pool: null, buffer, length);
            return new ValueTask<bool>(false);
        }

        // Undecided after the first read, or a body to be read in full: the same steps with awaits.
        return ReadOnAsync(response, content, stream, buffer, length, pending: null, cancellationToken);
    }

    /// <summary>
    /// The peek from wherever <see cref="IsInvalidTokenAsync"/> stopped: the stream taken (or not yet), <paramref name="length"/>
    /// bytes of <paramref name="buffer"/> read and <paramref name="pending"/> still to come (or another read to make).
    /// <paramref name="buffer"/> is either rented from the shared pool (<see cref="PeekSize"/> or more) or the small
    /// array of a first read (<see cref="FirstReadSize"/>), whose bytes move into a rented one here.
    /// </summary>
    private async ValueTask<bool> ReadOnAsync(
        HttpResponseMessage response,
        HttpContent content,
        Stream? stream,
        byte[]? buffer,
        int length,
        ValueTask<int>? pending,
        CancellationToken cancellationToken)
    {
        stream ??= await content.ReadAsStreamAsync(cancellationToken);
        buffer ??= ArrayPool<byte>.Shared.Rent(PeekSize);
        var endOfStream = false;
        var verdict = PitchlyResponseClassifier.FirstMember.Incomplete;
        var decideNow = pending is not null || length > 0;
        if (pending is { } first)
        {
            var read = await first;
            endOfStream = read == 0;
            length += read;
        }

        if (buffer.Length < PeekSize)
        {
            var rented = ArrayPool<byte>.Shared.Rent(PeekSize);
            buffer.AsSpan(0, length).CopyTo(rented);
            buffer.AsSpan(0, length).Clear();
            buffer = rented;
        }

        if (decideNow)
        {
            // The first read's bytes (read at once before, or just awaited): decide from them.
            verdict = PitchlyResponseClassifier.PeekFirstMember(buffer.AsSpan(0, length), endOfStream);
        }

        while (verdict == PitchlyResponseClassifier.FirstMember.Incomplete)
        {
            if (length == buffer.Length)
            {
                verdict = PitchlyResponseClassifier.FirstMember.NeedsInspection;
                break;
            }

            var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken);
            endOfStream = read == 0;
            length += read;
            verdict = PitchlyResponseClassifier.PeekFirstMember(buffer.AsSpan(0, length), endOfStream);
        }

        if (verdict != PitchlyResponseClassifier.FirstMember.NeedsInspection)
        {
            HandOn(response, content, onlyContentType: null, stream, ArrayPool<byte>.Shared, buffer, length);
            return false;
        }

        var cap = _options.MaxResponseInspectionSize;
        while (!endOfStream && length <= cap)
        {
            if (length == buffer.Length)
            {
                var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, cap + 1L));
                buffer.AsSpan(0, length).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
                buffer = larger;
            }

            var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken);
            endOfStream = read == 0;
            length += read;
        }

        if (!endOfStream)
        {
            // Larger than any token error: pass it through unexamined.
            HandOn(response, content, onlyContentType: null, stream, ArrayPool<byte>.Shared, buffer, length);
            return false;
        }

        var bytes = buffer.AsSpan(0, length).ToArray();
        ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
        await stream.DisposeAsync();
        response.Content = CopyHeaders(content, new ByteArrayContent(bytes));
        content.Dispose();
        return _invalidToken.IsInvalidToken(response.StatusCode, bytes);
    }

    /// <summary>
    /// Gives the caller the bytes read, then the rest of the stream as it comes; the new content owns the buffer (rented
    /// from <paramref name="pool"/>, or its own when null). <paramref name="onlyContentType"/>, when known, is the
    /// content's only header (the common answer), copied without going over the headers again.
    /// </summary>
    private static void HandOn(HttpResponseMessage response, HttpContent content, string? onlyContentType, Stream stream, ArrayPool<byte>? pool, byte[] buffer, int length)
    {
        var handedOn = new PrefixedContent(new PrefixedStream(pool, buffer, length, stream, content));
        if (onlyContentType is null)
        {
            CopyHeaders(content, handedOn);
        }
        else
        {
            handedOn.Headers.TryAddWithoutValidation("Content-Type", onlyContentType);
        }

        response.Content = handedOn;
    }

    /// <summary>
    /// Tells whether the answer's stream can be had without a task: a <see cref="StreamContent"/>, or the content
    /// <see cref="SocketsHttpHandler"/> answers with, both of which hand over the stream they hold (no read, no wait), or
    /// content that holds its bytes (<see cref="ByteArrayContent"/>, <see cref="StringContent"/>: a MemoryStream over them).
    /// </summary>
    private static bool ReadsSynchronously(HttpContent content)
    {
        var type = content.GetType();
        return type == typeof(StreamContent) || type == SocketsResponseContent || type == typeof(ByteArrayContent) || type == typeof(StringContent);
    }

    /// <summary>
    /// Tells whether the answer says it is JSON, or says nothing (or nothing valid) about its type. The value is read as
    /// received (SocketsHttpHandler keeps it unparsed) when it plainly names JSON; only any other value is parsed,
    /// so an invalid one still counts as untyped. <paramref name="onlyContentType"/> is that value as received when it is
    /// the content's only header, else <see langword="null"/>.
    /// </summary>
    private static bool IsJsonOrUntyped(HttpContent content, out string? onlyContentType)
    {
        onlyContentType = null;
        var headers = content.Headers.NonValidated;
        if (!headers.TryGetValues("Content-Type", out var values))
        {
            return true;
        }

        if (values.Count == 1 && values.ToString() is var value && IsJsonMediaType(value.AsSpan()))
        {
            onlyContentType = headers.Count == 1 ? value : null;
            return true;
        }

        var mediaType = content.Headers.ContentType?.MediaType;
        return mediaType is null || IsJsonMediaType(mediaType);
    }

    private static bool IsJsonMediaType(ReadOnlySpan<char> value)
    {
        var parameters = value.IndexOf(';');
        var mediaType = (parameters < 0 ? value : value[..parameters]).Trim();
        return mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
    }

    // Through the non-validated view: values are copied as the strings they are, with no enumerator, array or parse per
    // header (a value someone parsed, such as a Content-Type set through its typed property, is formatted back once).
    private static HttpContent CopyHeaders(HttpContent source, HttpContent target)
    {
        foreach (var header in source.Headers.NonValidated)
        {
            if (header.Value.Count == 1)
            {
                target.Headers.TryAddWithoutValidation(header.Key, header.Value.ToString());
            }
            else
            {
                target.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        return target;
    }

    [LoggerMessage(EventId = 2100, Level = LogLevel.Information, Message = "Pitchly rejected the access token of {Key} (HTTP {StatusCode}); refreshing and replaying the request.")]
    private static partial void LogInvalidToken(ILogger logger, PitchlyTokenKey key, int statusCode);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "Pitchly rejected the access token of {Key} (HTTP {StatusCode}) after {Rejected} tokens were tried, and no newer token could be had within the refresh timeout; returning its answer.")]
    private static partial void LogRejectedAfterRefresh(ILogger logger, PitchlyTokenKey key, int statusCode, int rejected);
}
