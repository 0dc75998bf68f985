"""gpuplanner: plan how a large language model runs on several GPUs."""

__version__ = "0.1.0"
