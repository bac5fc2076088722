using TokenGate.Cli;

return await TokenGateCli.InvokeAsync(args, Console.Out, Console.Error, Console.In);
