namespace Pitchly.AspNetCore.Tests.EmulatorIntegration;

public sealed record ViewerData(Viewer Viewer);

public sealed record Viewer(Person? Person);

public sealed record Person(string Id, string Name);

public sealed record OrganizationData(Organization Organization);

public sealed record Organization(string Id, string Name);
