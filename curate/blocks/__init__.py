"""Pipeline blocks: datatrove PipelineSteps, one file each, in the Apertus order."""
