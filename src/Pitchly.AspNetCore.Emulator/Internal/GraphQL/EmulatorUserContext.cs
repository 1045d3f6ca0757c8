using GraphQL;
using Pitchly.AspNetCore.Emulator.Internal.Data;

namespace Pitchly.AspNetCore.Emulator.Internal.GraphQL;

/// <summary>One operation's context: the emulator, and once the credential is checked, whom it acts for and their data.</summary>
internal sealed class EmulatorUserContext(PitchlyEmulator emulator) : Dictionary<string, object?>
{
    public PitchlyEmulator Emulator { get; } = emulator;

    public RequestIdentity? Identity { get; set; }

    public OrganizationData? Organization { get; set; }
}

internal static class ResolveFieldContextExtensions
{
    public static EmulatorUserContext Emulator(this IResolveFieldContext context) => (EmulatorUserContext)context.UserContext;

    public static RequestIdentity Identity(this IResolveFieldContext context) =>
        context.Emulator().Identity ?? throw new InvalidOperationException("The operation runs without an authenticated identity.");

    public static OrganizationData Organization(this IResolveFieldContext context) =>
        context.Emulator().Organization ?? throw new InvalidOperationException("The operation runs without an organization.");

    public static void RequireWrite(this IResolveFieldContext context)
    {
        if (!context.Identity().CanWrite)
        {
            throw new GraphQLFieldException(
                GraphQLErrorCodes.Forbidden,
                $"Not authorized: this token's scope does not include \"{PitchlyEmulatorDefaults.WriteScope}\".");
        }
    }
}
