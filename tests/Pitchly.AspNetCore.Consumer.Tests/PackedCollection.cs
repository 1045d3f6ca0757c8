namespace Pitchly.AspNetCore.Consumer.Tests;

/// <summary>The test classes that share one packing of the packages (packing takes a while).</summary>
[CollectionDefinition(Name)]
public sealed class PackedCollection : ICollectionFixture<PackedApp>
{
    public const string Name = "Packed packages";
}
