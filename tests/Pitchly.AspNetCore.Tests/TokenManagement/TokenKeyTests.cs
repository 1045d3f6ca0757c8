namespace Pitchly.AspNetCore.Tests.TokenManagement;

public sealed class TokenKeyTests
{
    [Fact]
    public void Ids_containing_the_separator_are_refused_so_two_users_never_share_a_key()
    {
        var organization = Assert.Throws<ArgumentException>(() => PitchlyTokenKey.ForUser("a:b", "c"));
        var person = Assert.Throws<ArgumentException>(() => PitchlyTokenKey.ForUser("a", "b:c"));

        Assert.Equal("organizationId", organization.ParamName);
        Assert.Equal("personId", person.ParamName);
        Assert.Contains("cannot contain ':'", person.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_database_wildcard_is_refused_so_it_never_shares_the_key_of_an_install_without_a_database()
    {
        var exception = Assert.Throws<ArgumentException>(() => PitchlyTokenKey.ForInstall("org", "*"));

        Assert.Equal("databaseId", exception.ParamName);
        Assert.Equal("install:org:*", PitchlyTokenKey.ForInstall("org").Value);
        Assert.Equal("install:org:db_1", PitchlyTokenKey.ForInstall("org", "db_1").Value);
    }

    [Theory]
    [InlineData("org 1")]
    [InlineData("org\n1")]
    [InlineData("org\u00001")]
    [InlineData("org\t")]
    public void Ids_with_white_space_or_control_characters_are_refused(string id)
    {
        Assert.Throws<ArgumentException>(() => PitchlyTokenKey.ForUser(id, "psn_1"));
        Assert.Throws<ArgumentException>(() => PitchlyTokenKey.ForInstall("org_1", id));
    }

    [Fact]
    public void Keys_are_equal_exactly_when_their_values_are()
    {
        Assert.Equal(PitchlyTokenKey.ForUser("org_1", "psn_1"), PitchlyTokenKey.ForUser("org_1", "psn_1"));
        Assert.NotEqual(PitchlyTokenKey.ForUser("org_1", "psn_1"), PitchlyTokenKey.ForUser("org_1", "psn_2"));
        Assert.NotEqual(PitchlyTokenKey.ForInstall("org_1"), PitchlyTokenKey.ForInstall("org_1", "db_1"));

        // The hash is kept from construction: equal keys made apart (and a copy) hash alike, as their values do.
        var key = PitchlyTokenKey.ForUser("org_1", "psn_1");
        Assert.Equal(StringComparer.Ordinal.GetHashCode(key.Value), key.GetHashCode());
        Assert.Equal(key.GetHashCode(), PitchlyTokenKey.ForUser("org_1", "psn_1").GetHashCode());
        Assert.Equal(key.GetHashCode(), (key with { }).GetHashCode());
        Assert.Equal(key, key with { });
        Assert.False(key.Equals(null));
    }

    [Fact]
    public void The_user_key_comes_from_the_person_id_claim_even_when_the_app_replaced_the_name_identifier()
    {
        var identity = new ClaimsIdentity(
        [
            new Claim(ClaimTypes.NameIdentifier, "local-user-42"),
            new Claim(PitchlyClaimTypes.PersonId, "psnGraceHopper000001"),
            new Claim(PitchlyClaimTypes.OrganizationId, "orgAcmeAnalytics0001"),
        ], "Cookies");

        var key = PitchlyTokenKey.FromPrincipal(new ClaimsPrincipal(identity));

        Assert.Equal(PitchlyTokenKey.ForUser("orgAcmeAnalytics0001", "psnGraceHopper000001"), key);
    }

    [Fact]
    public void The_user_key_is_found_as_FindFirst_finds_it_across_identities_and_claim_type_case()
    {
        var local = new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, "local-user-42"), new Claim(ClaimTypes.Name, "Grace")], "Cookies");
        var pitchly = new ClaimsIdentity(
        [
            new Claim(PitchlyClaimTypes.OrganizationId.ToUpperInvariant(), "orgFirst"),
            new Claim(PitchlyClaimTypes.PersonId, "psnFromSecondIdentity"),
            new Claim(PitchlyClaimTypes.OrganizationId, "orgSecond"),
        ], "Pitchly");
        var principal = new ClaimsPrincipal([local, pitchly]);

        var key = PitchlyTokenKey.FromPrincipal(principal);

        // The person id claim wins over an earlier identity's name identifier; the first organization claim wins.
        Assert.Equal(principal.FindFirst(PitchlyClaimTypes.OrganizationId)!.Value, key!.OrganizationId);
        Assert.Equal(PitchlyTokenKey.ForUser("orgFirst", "psnFromSecondIdentity"), key);
        Assert.Equal(
            PitchlyTokenKey.ForUser("orgFirst", "local-user-42"),
            PitchlyTokenKey.FromPrincipal(new ClaimsPrincipal([local, new ClaimsIdentity([new Claim(PitchlyClaimTypes.OrganizationId, "orgFirst")])])));
    }

    [Fact]
    public void A_key_to_reuse_is_returned_only_for_the_same_ids_and_never_makes_invalid_ids_valid()
    {
        var alice = PitchlyTokenKey.ForUser("org_1", "psn_alice");
        static ClaimsPrincipal Principal(string organizationId, string personId) =>
            new(new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, personId), new Claim(PitchlyClaimTypes.OrganizationId, organizationId)], "Cookies"));

        // The same ids in new strings (as a cookie read again gives them): the very key; anyone else: their own key.
        Assert.Same(alice, PitchlyTokenKey.FromPrincipal(Principal(new string("org_1".AsSpan()), new string("psn_alice".AsSpan())), alice));
        Assert.Equal(PitchlyTokenKey.ForUser("org_1", "psn_bob"), PitchlyTokenKey.FromPrincipal(Principal("org_1", "psn_bob"), alice));
        Assert.Equal(PitchlyTokenKey.ForUser("org_2", "psn_alice"), PitchlyTokenKey.FromPrincipal(Principal("org_2", "psn_alice"), alice));
        Assert.Equal(PitchlyTokenKey.ForUser("org_1", "PSN_ALICE"), PitchlyTokenKey.FromPrincipal(Principal("org_1", "PSN_ALICE"), alice));

        // Ids that differ from the key's only by what makes them invalid are still refused, with or without a key to reuse.
        Assert.Null(PitchlyTokenKey.FromPrincipal(Principal("org_1", "psn_alice "), alice));
        Assert.Null(PitchlyTokenKey.FromPrincipal(Principal("org_1:psn_alice", "psn_alice"), alice));
        Assert.Null(PitchlyTokenKey.FromPrincipal(Principal("org_1", ""), alice));
        Assert.Null(PitchlyTokenKey.FromPrincipal(new ClaimsPrincipal(new ClaimsIdentity([new Claim(PitchlyClaimTypes.OrganizationId, "org_1")], "Cookies")), alice));

        // An install key is never handed out for a user.
        var install = PitchlyTokenKey.ForInstall("org_1");
        Assert.Equal(PitchlyTokenKey.ForUser("org_1", "psn_alice"), PitchlyTokenKey.FromPrincipal(Principal("org_1", "psn_alice"), install));
        Assert.NotSame(install, PitchlyTokenKey.FromPrincipal(Principal("org_1", "psn_alice"), install));
    }

    [Fact]
    public void A_principal_or_identity_type_with_its_own_lookup_is_asked_through_FindFirst()
    {
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, "psn_plain"), new Claim(PitchlyClaimTypes.OrganizationId, "org_plain")], "Cookies");

        Assert.Equal(PitchlyTokenKey.ForUser("org_overridden", "psn_overridden"), PitchlyTokenKey.FromPrincipal(new OverridingPrincipal(identity)));
        Assert.Equal(PitchlyTokenKey.ForUser("org_overridden", "psn_overridden"), PitchlyTokenKey.FromPrincipal(new ClaimsPrincipal(new OverridingIdentity(identity))));
    }

    [Fact]
    public void A_principal_from_another_provider_has_no_user_key_instead_of_an_exception()
    {
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, "google:1234")], "Cookies");
        var withBadIds = new ClaimsIdentity(
        [
            new Claim(PitchlyClaimTypes.PersonId, "psn:1"),
            new Claim(PitchlyClaimTypes.OrganizationId, "org_1"),
        ], "Cookies");

        Assert.Null(PitchlyTokenKey.FromPrincipal(new ClaimsPrincipal(identity)));
        Assert.Null(PitchlyTokenKey.FromPrincipal(new ClaimsPrincipal(withBadIds)));
        Assert.Null(PitchlyTokenKey.FromPrincipal(null));
    }

    private static Claim? Overridden(string type) => type switch
    {
        PitchlyClaimTypes.OrganizationId => new Claim(type, "org_overridden"),
        ClaimTypes.NameIdentifier => new Claim(type, "psn_overridden"),
        _ => null,
    };

    private sealed class OverridingPrincipal(ClaimsIdentity identity) : ClaimsPrincipal(identity)
    {
        public override Claim? FindFirst(string type) => Overridden(type);
    }

    private sealed class OverridingIdentity(ClaimsIdentity identity) : ClaimsIdentity(identity)
    {
        public override Claim? FindFirst(string type) => Overridden(type);
    }
}
