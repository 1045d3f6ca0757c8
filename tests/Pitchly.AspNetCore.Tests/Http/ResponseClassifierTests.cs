namespace Pitchly.AspNetCore.Tests.Http;

public sealed class ResponseClassifierTests
{
    private static readonly HashSet<string> Codes = new(StringComparer.Ordinal) { "UNAUTHENTICATED", "token-invalid" };

    [Theory]
    [InlineData("""{"errors":[{"extensions":{"code":"UNAUTHENTICATED"}}],"data":null}""", true)]
    [InlineData("""{"errors":[{"extensions":{"code":"UNAUTH\u0045NTICATED"}}],"data":null}""", true)]
    [InlineData("""{"data":null,"errors":[{"message":"m","data":{"error":"token-invalid"}}]}""", true)]
    [InlineData("""{"errors":[{"extensions":{"error":"UNAUTHENTICATED"},"data":{"code":"token-invalid"}}]}""", false)]
    [InlineData("""{"errors":[{"extensions":{"code":"unauthenticated"}}]}""", false)]
    [InlineData("""{"errors":[{"extensions":{"code":"FORBIDDEN"}}],"data":null}""", false)]
    public void Only_the_configured_codes_in_their_own_members_are_token_errors(string body, bool expected)
    {
        Assert.Equal(expected, PitchlyResponseClassifier.HasInvalidTokenError(Encoding.UTF8.GetBytes(body), Codes));
    }

    [Fact]
    public void A_set_with_its_own_comparer_is_honoured()
    {
        var caseInsensitive = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "UNAUTHENTICATED" };

        Assert.True(PitchlyResponseClassifier.HasInvalidTokenError("""{"errors":[{"extensions":{"code":"unauthenticated"}}]}"""u8, caseInsensitive));
    }

    [Theory]
    [InlineData("""{"data":{"deals":[]}}""")]
    [InlineData(" \r\n\t{ \"data\" :\n{\"a\":1}}")]
    [InlineData("""{"data":null,"errors":[{"extensions":{"code":"UNAUTHENTICATED"}}]}""")]
    [InlineData("""{"d\u0061ta":{"a":1}}""")]
    [InlineData("""{"errors":[],"data":{"a":1}}""")]
    [InlineData("""{"dataset":{"a":1}}""")]
    [InlineData("""{"data":[1]}""")]
    [InlineData("""["data",{}]""")]
    [InlineData("\uFEFF{\"data\":{}}")]
    [InlineData("""{"data":{""")]
    [InlineData("""<html>""")]
    public void The_byte_check_for_data_first_decides_as_the_JSON_reader_does_at_every_length(string answer)
    {
        var bytes = Encoding.UTF8.GetBytes(answer);
        for (var length = 0; length <= bytes.Length; length++)
        {
            foreach (var isFinalBlock in new[] { false, true })
            {
                var prefix = bytes.AsSpan(0, length);
                Assert.Equal(PitchlyResponseClassifier.ReadFirstMember(prefix, isFinalBlock), PitchlyResponseClassifier.PeekFirstMember(prefix, isFinalBlock));
            }
        }
    }
}
