"""coursecheck: the course's public checks, run on your own code.

From the folder that holds your assignments/ (or any folder inside it):

    python -m coursecheck check normalization        # or: autograd, optimizers, dropout, ...

In a notebook cell:

    from coursecheck import check; check("normalization")

Each check calls your functions on fixed inputs and compares the results with
PyTorch's built-ins; a failed check says what differs, where, by how much, the
likely cause when it is a known mistake, and the command that runs it alone.
Your code runs in this Python process (nothing is sent anywhere). Passing the
public checks is a good sign, not a guarantee: the hidden checks try more.
"""
from __future__ import annotations

__all__ = ["check"]


def check(*topics: str, root=None, only=None, device: str = "all", seed: int | None = None,
          lang: str | None = None) -> None:
    """Run the public checks of `topics` (default: every topic) and print the feedback.

    root: the folder that holds assignments/ (default: found from the current folder up).
    only: a check's name, or a list of names, as printed in the feedback.
    device: "cpu", "cuda" or "all" (CUDA cases are skipped without a GPU).
    seed: the base seed (default: the course's; the feedback prints it).
    lang: "en" or "ru", the feedback's language (default: the kit's).
    """
    from .runner import UsageError, run_and_print
    names = [only] if isinstance(only, str) else list(only or [])
    devices = ("cpu", "cuda") if device == "all" else (device,)
    try:
        run_and_print(list(topics), root=root, only=names, device=devices, seed=seed, lang=lang)
    except UsageError as exc:
        print(f"error: {exc}")
