"""The scheduler: fires ACTIVE launch plans with a schedule, exactly once per fire time (design decision 11)."""
