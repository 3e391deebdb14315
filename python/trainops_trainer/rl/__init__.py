"""RL stages on top of an SFT adapter: `dpo` (preference pairs) and `grpo` (rewards on sampled completions).

Importing this package registers both stages with the stage registry.
"""

from . import dpo, grpo  # noqa: F401  (imported to register the stages)
