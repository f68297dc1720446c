"""Topic 5: residual (skip) connections.

A residual block computes out = ReLU(F(x) + x): the layers F only have to
learn a CORRECTION to their input, and the gradient reaches early layers
through the identity path undiminished, which is what lets very deep networks
train at all. You build the fully connected version of the ResNet block (the
ResNet paper's "basic block", with Linear layers in place of convolutions), the
same block without the skip (to compare against), and a helper that stacks
them into a deep MLP.

BatchNorm1d here is YOUR OWN, from topic 3 (normalization.py sits next to this
file). Not allowed: torchvision's ResNet blocks (torchvision.models.resnet.*).
nn.Linear, nn.ReLU, nn.Identity and nn.Sequential are fine.
"""
from __future__ import annotations

from torch import Tensor, nn

from normalization import BatchNorm1d


class ResidualBlock(nn.Module):
    """Fully connected residual block (the ResNet basic block with Linear layers).

        body(x)     = BN(Linear(ReLU(BN(Linear(x)))))
        shortcut(x) = x                     when in_features == out_features
                    = x @ P.T               otherwise (Linear without bias)
        out         = ReLU(body(x) + shortcut(x))

    The skip is added BEFORE the final ReLU (as in torchvision's BasicBlock:
    out += identity; out = relu(out)), not after it, and there is no ReLU at
    the end of the body. Consequence worth knowing: if the last BatchNorm's
    weight is zero, body(x) is a constant (its bias, 0 at initialization) and
    the block returns ReLU(shortcut(x)), so a deep stack starts out as a
    (nearly) identity map ("zero-init residual").

    The submodules MUST have these names and this order, so that state_dicts
    (keys body.0.*, body.1.*, body.3.*, body.4.*, shortcut.weight) load:

        self.body = nn.Sequential(
            nn.Linear(in_features, hidden_features),     # body.0
            BatchNorm1d(hidden_features),                # body.1 (yours, topic 3)
            nn.ReLU(),                                   # body.2
            nn.Linear(hidden_features, out_features),    # body.3
            BatchNorm1d(out_features),                   # body.4
        )
        self.shortcut = nn.Identity()   if in_features == out_features
                        nn.Linear(in_features, out_features, bias=False)  otherwise

    Args:
        in_features: width of the input, D_in.
        out_features: width of the output, D_out (default: in_features).
        hidden_features: width between the two Linear layers (default:
            out_features, after its own default).

    Shape:
        input (N, D_in), output (N, D_out).
    """

    def __init__(self, in_features: int, out_features: int | None = None,
                 hidden_features: int | None = None) -> None:
        super().__init__()
        out_features = in_features if out_features is None else out_features
        hidden_features = out_features if hidden_features is None else hidden_features
        self.in_features = in_features
        self.out_features = out_features
        self.hidden_features = hidden_features
        # BEGIN SOLUTION Task 5.1
        self.body = nn.Sequential(
            nn.Linear(in_features, hidden_features),
            BatchNorm1d(hidden_features),
            nn.ReLU(),
            nn.Linear(hidden_features, out_features),
            BatchNorm1d(out_features),
        )
        if in_features == out_features:
            self.shortcut = nn.Identity()
        else:
            self.shortcut = nn.Linear(in_features, out_features, bias=False)
        # END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        # BEGIN SOLUTION Task 5.2
        return (self.body(x) + self.shortcut(x)).relu()        # add, THEN ReLU
        # END SOLUTION

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"hidden_features={self.hidden_features}")


class PlainBlock(nn.Module):
    """The same block WITHOUT the skip connection, for comparison.

        out = ReLU(body(x))

    with exactly ResidualBlock's body (same submodule names, so the keys
    body.0.*, body.1.*, body.3.*, body.4.* match) and no shortcut attribute
    at all. Stacking many of these is the "plain" deep network that the
    ResNet paper shows gets HARDER to train as it gets deeper.

    Args:
        in_features, out_features, hidden_features: as in ResidualBlock.

    Shape:
        input (N, D_in), output (N, D_out).
    """

    def __init__(self, in_features: int, out_features: int | None = None,
                 hidden_features: int | None = None) -> None:
        super().__init__()
        out_features = in_features if out_features is None else out_features
        hidden_features = out_features if hidden_features is None else hidden_features
        self.in_features = in_features
        self.out_features = out_features
        self.hidden_features = hidden_features
        # BEGIN SOLUTION Task 5.3
        self.body = nn.Sequential(
            nn.Linear(in_features, hidden_features),
            BatchNorm1d(hidden_features),
            nn.ReLU(),
            nn.Linear(hidden_features, out_features),
            BatchNorm1d(out_features),
        )
        # END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        # BEGIN SOLUTION Task 5.4
        return self.body(x).relu()
        # END SOLUTION

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"hidden_features={self.hidden_features}")


def make_mlp(depth: int, width: int, in_features: int | None = None,
             out_features: int | None = None, residual: bool = True) -> nn.Sequential:
    """A deep MLP: `depth` blocks of width `width`, in an nn.Sequential.

        [Linear(in_features, width)]                    only if in_features is given
        block(width) x depth                            ResidualBlock(width) if residual
                                                        else PlainBlock(width)
        [Linear(width, out_features)]                   only if out_features is given

    Each block maps width -> width (so a residual block's shortcut is the
    identity). The result is one flat nn.Sequential of these modules, in this
    order: with both widths given, model[0] is the input Linear, model[1] to
    model[depth] are the blocks and model[-1] is the output Linear, so
    len(model) == depth + 2.

    Args:
        depth: number of blocks (each holds two Linear layers).
        width: the width of every block.
        in_features: input width; None means the input already has `width`.
        out_features: output width; None means no output layer.
        residual: ResidualBlock (True) or PlainBlock (False).

    Returns:
        nn.Sequential mapping (N, in_features or width) to
        (N, out_features or width).
    """
    # BEGIN SOLUTION Task 5.5
    block = ResidualBlock if residual else PlainBlock
    layers: list[nn.Module] = []
    if in_features is not None:
        layers.append(nn.Linear(in_features, width))
    layers += [block(width) for _ in range(depth)]
    if out_features is not None:
        layers.append(nn.Linear(width, out_features))
    return nn.Sequential(*layers)
    # END SOLUTION
