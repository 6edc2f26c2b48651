"""`python -m copilot_index.server.model.evaluate`: the default model's sanity evaluation on held-out stdlib files.

The work is `conventions.pretrain.evaluate`'s; this entry point hands it the server's model runtime.
"""

from __future__ import annotations

import sys

from copilot_index.conventions.pretrain import evaluate

from .runtime import TransformersRuntime


def main(argv: list[str] | None = None) -> int:
    return evaluate.main(argv, TransformersRuntime())


if __name__ == "__main__":
    sys.exit(main())
