using System.ComponentModel.DataAnnotations;

namespace Pitchly.Samples.WebFarm;

/// <summary>The farm's shape, bound from the <c>WebFarm</c> configuration section.</summary>
public sealed class WebFarmOptions
{
    /// <summary>The configuration section the options are bound from.</summary>
    public const string Section = "WebFarm";

    /// <summary>Gets or sets how many MVC sample instances run behind the proxy (default 3).</summary>
    [Range(1, 9, ErrorMessage = "Set WebFarm:Instances between 1 and 9.")]
    public int Instances { get; set; } = 3;

    /// <summary>Gets or sets how long an instance may take to answer its first request (default one minute).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00", ErrorMessage = "Set WebFarm:StartTimeout between 00:00:01 and 00:10:00.")]
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromMinutes(1);
}
