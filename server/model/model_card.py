"""`python -m copilot_index.server.model.model_card DIR`: evaluate an exported default model and write its card.

The work is `conventions.pretrain.model_card`'s; this entry point hands it the server's model runtime.
"""

from __future__ import annotations

import sys

from copilot_index.conventions.pretrain import model_card

from .runtime import TransformersRuntime


def main(argv: list[str] | None = None) -> int:
    return model_card.main(argv, TransformersRuntime())


if __name__ == "__main__":
    sys.exit(main())
