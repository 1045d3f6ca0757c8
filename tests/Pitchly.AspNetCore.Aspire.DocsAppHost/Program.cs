// The app host of docs/scenarios/aspire.md, line for line, with the minimal API sample as the reader's web project.
// AddPitchlyEmulator runs the pitchly-emulator .NET tool from the PATH, as a reader who installed it gets it; keep this
// file equal to the page's first block (DocsAppHostTests checks that the two agree).
var builder = DistributedApplication.CreateBuilder(args);

var pitchly = builder.AddPitchlyEmulator("pitchly");          // the pitchly-emulator tool, 127.0.0.1 only

builder.AddProject<Projects.Pitchly_Samples_MinimalApi>("web")
    .WithReference(pitchly)
    .WaitFor(pitchly);

builder.Build().Run();
