namespace Pitchly.AspNetCore.BrowserTests;

/// <summary>Names from the emulator's seeded Acme Analytics organization that the sample pages must show.</summary>
public static class SeededData
{
    public const string AcmeDatabaseName = "Clients";

    public const string AcmeRowValue = "Umbrella Corporation";

    public const string AcmeWorkspaceName = "Sales";

    public const string AcmeRecordValue = "Hooli expansion";
}
