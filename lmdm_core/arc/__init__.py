"""ARC-Forcing post-training: adversarial relativistic-contrastive training on the model's own block-causal rollouts
(no RL, no reward model). rollout.py makes the rollouts, discriminator.py judges them, losses.py scores them,
trainer.py alternates the updates; docs/arc-forcing.md has the recipe and the commands."""
