"""curate.train: the bundled training stage (Apertus-architecture decoder, Goldfish loss, Megatron shards).

Modules: ``configs`` (presets), ``model`` (the decoder), ``goldfish`` (the loss mask), ``data`` (packing and
blending), ``optim`` (AdEMAMix, WSD), ``loop`` (``train(TrainArgs)``), ``cli`` (``curate train``).
torch is imported by the submodules, not here, so ``import curate.train.cli`` stays light."""
