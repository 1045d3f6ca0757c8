namespace Pitchly.Samples.Shared;

/// <summary>One entry of a GraphQL answer's <c>errors</c> list, reduced to what a page shows.</summary>
/// <param name="Message">The error's message, or a note that it had none.</param>
/// <param name="Code">The error code from <c>extensions.code</c> (current platform) or <c>data.error</c> (legacy), if any.</param>
public sealed record GraphQLError(string Message, string? Code)
{
    /// <inheritdoc />
    public override string ToString() => Code is null ? Message : $"{Message} ({Code})";
}
