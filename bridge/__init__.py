"""bridge: the headless worker (`lmdm serve`) and the patch-side pieces that talk to it."""
