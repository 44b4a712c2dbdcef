using Passthrough.Cli;

return await CliApplication.RunAsync(args, CliEnvironment.FromConsole());
