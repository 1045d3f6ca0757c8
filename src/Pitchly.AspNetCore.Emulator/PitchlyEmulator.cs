using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Pitchly.AspNetCore.Emulator.Internal;
using Pitchly.AspNetCore.Emulator.Internal.Data;
using Pitchly.AspNetCore.Emulator.Internal.Subscriptions;
using Pitchly.AspNetCore.Emulator.Internal.Tokens;

namespace Pitchly.AspNetCore.Emulator;

/// <summary>
/// The emulator's state: its current settings, people, data, issued tokens, counters and GraphQL request log.
/// One instance (a singleton) serves every emulator endpoint of an app or a <see cref="PitchlyEmulatorServer"/>.
/// </summary>
public sealed class PitchlyEmulator
{
    private readonly Lock _settingsLock = new();
    private readonly ConcurrentQueue<PitchlyEmulatorGraphQLRequest> _graphQLRequests = new();
    private PitchlyEmulatorOptions _options;
    private UserDirectory _users;
    private bool _endpointsMapped;

    internal PitchlyEmulator(PitchlyEmulatorOptions options, TimeProvider timeProvider, ILogger<PitchlyEmulator> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = Validated(options.Clone());
        _users = new UserDirectory(_options.GeneratedUsers);
        TimeProvider = timeProvider;
        Logger = logger;
        Tokens = new TokenAuthority(timeProvider);
    }

    /// <summary>Gets the people the emulator knows: the seeded ones, then any generated load-test users.</summary>
    public IReadOnlyList<PitchlyEmulatorUser> Users => Volatile.Read(ref _users).All;

    /// <summary>Gets a copy of the current settings; changing the copy changes nothing (use <see cref="Configure"/>).</summary>
    public PitchlyEmulatorOptions CurrentOptions => Options.Clone();

    /// <summary>Gets the most recent GraphQL requests, oldest first (at most <see cref="PitchlyEmulatorOptions.GraphQLRequestLogCapacity"/>).</summary>
    public IReadOnlyList<PitchlyEmulatorGraphQLRequest> GraphQLRequests => [.. _graphQLRequests];

    internal PitchlyEmulatorOptions Options => Volatile.Read(ref _options);

    /// <summary>Gets or sets whether <c>MapPitchlyEmulator</c> mapped this emulator's endpoints, so the host's listen addresses matter.</summary>
    internal bool EndpointsMapped
    {
        get => Volatile.Read(ref _endpointsMapped);
        set => Volatile.Write(ref _endpointsMapped, value);
    }

    internal TimeProvider TimeProvider { get; }

    internal ILogger Logger { get; }

    internal TokenAuthority Tokens { get; }

    internal EmulatorCounters Counters { get; } = new();

    internal Dictionary<string, OrganizationData> Organizations { get; } = SeedData.Create();

    /// <summary>Gets the data events that mutations raise and subscriptions watch.</summary>
    internal EmulatorEvents Events { get; } = new();

    /// <summary>Gets the key that signs consent forms, so that only the emulator's own consent page can approve.</summary>
    internal byte[] FormKey { get; } = RandomNumberGenerator.GetBytes(32);

    /// <summary>Returns a snapshot of the counters.</summary>
    /// <returns>The counters since the start or the last <see cref="ResetStats"/>.</returns>
    public PitchlyEmulatorStats GetStats() => Counters.Snapshot();

    /// <summary>Sets every counter to zero and clears the GraphQL request log; issued tokens stay valid.</summary>
    public void ResetStats()
    {
        Counters.Reset();
        _graphQLRequests.Clear();
    }

    /// <summary>Changes settings while the emulator runs; the change applies to the next request.</summary>
    /// <param name="configure">Edits a copy of the current settings.</param>
    /// <exception cref="OptionsValidationException">The edited settings are invalid; nothing changed.</exception>
    public void Configure(Action<PitchlyEmulatorOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        lock (_settingsLock)
        {
            var options = Options.Clone();
            configure(options);
            Validated(options);
            if (options.GeneratedUsers != _users.GeneratedCount)
            {
                Volatile.Write(ref _users, new UserDirectory(options.GeneratedUsers));
            }

            Volatile.Write(ref _options, options);
        }

        Logger.SettingsChanged();
    }

    /// <summary>
    /// Invalidates live access tokens before they expire, as Pitchly may; the holders must refresh. Refresh tokens stay valid.
    /// </summary>
    /// <param name="personId">Only this person's tokens; all tokens when <see langword="null"/>.</param>
    /// <returns>How many tokens were invalidated.</returns>
    public int InvalidateAccessTokens(string? personId = null)
    {
        var (count, unused) = Tokens.InvalidateAccessTokens(personId);
        Interlocked.Add(ref Counters.EarlyInvalidations, count);
        Interlocked.Add(ref Counters.InvalidatedBeforeFirstUse, unused);
        Logger.AccessTokensInvalidated(count, personId);
        return count;
    }

    /// <summary>
    /// Issues a short-lived access token for an organization, like the one Pitchly's App SDK gives a browser inside one
    /// app. It works on the GraphQL endpoint and as the <c>subject_token</c> of the token exchange grant, where only the
    /// app it was issued to may exchange it.
    /// </summary>
    /// <param name="organizationId">A seeded organization's id.</param>
    /// <param name="lifetime">The token's lifetime; <see cref="PitchlyEmulatorOptions.AppSdkTokenLifetime"/> when <see langword="null"/>.</param>
    /// <param name="clientId">
    /// The registered app the token is issued to; the first of <see cref="PitchlyEmulatorOptions.Clients"/> (the default
    /// client unless the list was changed) when <see langword="null"/>.
    /// </param>
    /// <returns>The access token.</returns>
    /// <exception cref="ArgumentException">The organization or the client is unknown, or the lifetime is not positive.</exception>
    public string IssueAppSdkToken(string organizationId, TimeSpan? lifetime = null, string? clientId = null) =>
        IssueAppSdkTokenCore(organizationId, lifetime, clientId).AccessToken;

    internal IssuedTokens IssueAppSdkTokenCore(string organizationId, TimeSpan? lifetime, string? clientId)
    {
        ArgumentException.ThrowIfNullOrEmpty(organizationId);
        if (!Organizations.ContainsKey(organizationId))
        {
            throw new ArgumentException($"'{organizationId}' is not one of the emulator's organizations.", nameof(organizationId));
        }

        var client = clientId is null
            ? Options.Clients.FirstOrDefault()
            : FindClient(clientId);
        if (client is null)
        {
            throw new ArgumentException(
                clientId is null ? "The emulator has no registered app to issue the token to." : $"'{clientId}' is not one of the emulator's registered apps.",
                nameof(clientId));
        }

        var effectiveLifetime = lifetime ?? Options.AppSdkTokenLifetime;
        if (effectiveLifetime <= TimeSpan.Zero)
        {
            throw new ArgumentException("The lifetime must be longer than zero.", nameof(lifetime));
        }

        Interlocked.Increment(ref Counters.AccessTokensIssued);
        var subject = new TokenSubject(PitchlyEmulatorCredentialKind.AppSdkToken, client.ClientId, organizationId, null);
        return Tokens.Issue(subject, PitchlyEmulatorDefaults.Scope, effectiveLifetime, family: null);
    }

    /// <summary>
    /// Inserts a row into a legacy database as someone else would (another app, a person in Pitchly's UI), and raises
    /// the <c>dataRowsChanged</c> and <c>databaseUpdated</c> subscription events, as an <c>insertRow</c> mutation does.
    /// </summary>
    /// <param name="databaseId">A legacy database's id, of any organization.</param>
    /// <param name="values">The new row's cells by field id; <see langword="null"/> for an empty row.</param>
    /// <returns>The new row's id.</returns>
    /// <exception cref="ArgumentException">The database or a field is unknown.</exception>
    public string InsertRow(string databaseId, IReadOnlyDictionary<string, JsonNode?>? values = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(databaseId);
        var (organization, database) = Organizations.Values
            .Select(o => (Organization: o, Table: o.FindDatabase(databaseId)))
            .FirstOrDefault(found => found.Table is not null);
        if (database is null)
        {
            throw new ArgumentException($"'{databaseId}' is not one of the emulator's databases.", nameof(databaseId));
        }

        var row = new RowData(SeedData.NewId(), Cells(database, values ?? new Dictionary<string, JsonNode?>(), nameof(values), []));
        lock (organization.Sync)
        {
            database.Rows.Add(row);
        }

        Events.Publish(new DataChange(organization.Id, database, ChangeKind.Inserted, [row], [row.Id]));
        return row.Id;
    }

    /// <summary>
    /// Changes cells of a current-platform record as someone else would, and raises the <c>recordsChanged</c>
    /// subscription event, as an <c>updateRecords</c> mutation does. Cells not named keep their values.
    /// </summary>
    /// <param name="tableId">A table's id, of any organization.</param>
    /// <param name="recordId">The id of one of the table's records.</param>
    /// <param name="values">The cells to write, by field id.</param>
    /// <exception cref="ArgumentException">The table, the record or a field is unknown.</exception>
    public void UpdateRecord(string tableId, string recordId, IReadOnlyDictionary<string, JsonNode?> values)
    {
        ArgumentException.ThrowIfNullOrEmpty(tableId);
        ArgumentException.ThrowIfNullOrEmpty(recordId);
        ArgumentNullException.ThrowIfNull(values);
        var (organization, table) = Organizations.Values
            .Select(o => (Organization: o, Table: o.FindTable(tableId)))
            .FirstOrDefault(found => found.Table is not null);
        if (table is null)
        {
            throw new ArgumentException($"'{tableId}' is not one of the emulator's tables.", nameof(tableId));
        }

        RowData record;
        lock (organization.Sync)
        {
            record = table.Rows.Find(r => r.Id == recordId)
                ?? throw new ArgumentException($"'{recordId}' is not a record of table '{tableId}'.", nameof(recordId));
            record.Cells = Cells(table, values, nameof(values), record.Cells);
        }

        Events.Publish(new DataChange(organization.Id, table, ChangeKind.Updated, [record], [record.Id]));
    }

    internal PitchlyEmulatorUser? FindUser(string personId) => Volatile.Read(ref _users).Find(personId);

    internal PitchlyEmulatorClient? FindClient(string? clientId) =>
        clientId is null ? null : Options.Clients.FirstOrDefault(c => string.Equals(c.ClientId, clientId, StringComparison.Ordinal));

    /// <summary>Finds the client whose secret this is, comparing in constant time.</summary>
    internal PitchlyEmulatorClient? FindClientBySecret(string secret)
    {
        var presented = Encoding.UTF8.GetBytes(secret);
        return Options.Clients.FirstOrDefault(c => CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(c.ClientSecret), presented));
    }

    internal void Record(PitchlyEmulatorGraphQLRequest request)
    {
        var capacity = Options.GraphQLRequestLogCapacity;
        if (capacity == 0)
        {
            return;
        }

        _graphQLRequests.Enqueue(request);
        while (_graphQLRequests.Count > capacity && _graphQLRequests.TryDequeue(out _))
        {
        }
    }

    private static CellData[] Cells(TableData table, IReadOnlyDictionary<string, JsonNode?> values, string parameter, IReadOnlyList<CellData> current)
    {
        var unknown = values.Keys.FirstOrDefault(id => !table.Fields.Any(f => f.Id == id));
        if (unknown is not null)
        {
            throw new ArgumentException($"'{unknown}' is not a field of '{table.Name}'.", parameter);
        }

        return [.. current.Where(c => !values.ContainsKey(c.FieldId)), .. values.Select(v => new CellData(v.Key, v.Value?.DeepClone()))];
    }

    private static PitchlyEmulatorOptions Validated(PitchlyEmulatorOptions options)
    {
        var failures = PitchlyEmulatorOptionsValidator.Failures(options);
        if (failures.Count > 0)
        {
            throw new OptionsValidationException(Microsoft.Extensions.Options.Options.DefaultName, typeof(PitchlyEmulatorOptions), failures);
        }

        return options;
    }

    private sealed class UserDirectory
    {
        private readonly FrozenDictionary<string, PitchlyEmulatorUser> _byId;

        public UserDirectory(int generatedCount)
        {
            GeneratedCount = generatedCount;
            All = [.. PitchlyEmulatorDefaults.Users, .. Enumerable.Range(1, generatedCount).Select(PitchlyEmulatorDefaults.GeneratedUser)];
            _byId = All.ToFrozenDictionary(u => u.PersonId, StringComparer.Ordinal);
        }

        public int GeneratedCount { get; }

        public IReadOnlyList<PitchlyEmulatorUser> All { get; }

        public PitchlyEmulatorUser? Find(string personId) => _byId.GetValueOrDefault(personId);
    }
}
