using Passthrough.Simulation.Dom0;

return Dom0Tool.Run(args);
