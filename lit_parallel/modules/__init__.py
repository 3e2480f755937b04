"""LightningModules: SFT and RL, and the pure functions they share."""
