"""TrainOps trainer: LoRA fine-tuning of causal LMs that reports progress as events (docs/protocol.md)."""

__version__ = "0.1.0"
