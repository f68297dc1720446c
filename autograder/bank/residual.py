"""Known student bugs and correct variants for residual (see autograder/variants.py).

Sources for the misconceptions: He et al. 2016 and torchvision's BasicBlock
(`out += identity; out = self.relu(out)`), d2l.ai "Residual Networks (ResNet)"
(Residual with use_1x1conv), CMU 10-714 hw2 (needle's Residual(fn) = fn(x) + x,
ResidualBlock/MLPResNet), CS231n lecture 6 and forum threads ("ReLU before or
after the addition", "[module] * n shares the weights").

Classic mistakes (`classic=True`): the few that those sources warn about, and that students
make most: the ReLU before the skip (or none after it, or one at the end of the body), no
projection when the widths differ, and one block object repeated in make_mlp.
A public check catches each classic mistake, so that a student whose public checks
all pass has made none of them (tests/test_classic_mistakes.py; docs/CLASSIC_MISTAKES.md
lists what the public checks catch and name).
"""
from autograder.hidden.residual import RESIDUAL_FORWARD
from autograder.variants import Bug, Correct, Mistake, Trivial

T = "residual"

FORWARD = "        return (self.body(x) + self.shortcut(x)).relu()        # add, THEN ReLU\n"
RES_BODY = ("        self.body = nn.Sequential(\n"
            "            nn.Linear(in_features, hidden_features),\n"
            "            BatchNorm1d(hidden_features),\n"
            "            nn.ReLU(),\n"
            "            nn.Linear(hidden_features, out_features),\n"
            "            BatchNorm1d(out_features),\n"
            "        )\n"
            "        if in_features == out_features:\n")
SHORTCUT = ("        if in_features == out_features:\n"
            "            self.shortcut = nn.Identity()\n"
            "        else:\n"
            "            self.shortcut = nn.Linear(in_features, out_features, bias=False)\n")
BLOCKS = "    layers += [block(width) for _ in range(depth)]\n"

BUGS = [
    # --------------------------------------------------------------- order of operations
    Bug("rs-relu-before-skip", T,
        ((FORWARD, "        return self.body(x).relu() + self.shortcut(x)\n"),),
        catches=("skip_added_before_final_relu", "forward_train_identity"),
        named="ReLU before the skip",
        why="needle's Residual(Sequential(..., ReLU)) and 'pre-activation' diagrams read as "
            "ReLU(body(x)) + x"),
    Bug("rs-no-final-relu", T,
        ((FORWARD, "        return self.body(x) + self.shortcut(x)\n"),),
        catches=("skip_added_before_final_relu", "forward_train_identity"),
        named="no final ReLU",
        why="needle's Residual(fn) is fn(x) + x with no activation after the sum"),
    Bug("rs-relu-at-end-of-body", T,
        ((RES_BODY,
          "        self.body = nn.Sequential(\n"
          "            nn.Linear(in_features, hidden_features),\n"
          "            BatchNorm1d(hidden_features),\n"
          "            nn.ReLU(),\n"
          "            nn.Linear(hidden_features, out_features),\n"
          "            BatchNorm1d(out_features),\n"
          "            nn.ReLU(),                               # BUG: the body ends with BN\n"
          "        )\n"
          "        if in_features == out_features:\n"),),
        catches=("forward_train_identity", "skip_added_before_final_relu"),
        named="ReLU at the end of the body",
        why="every Linear-BN pair followed by a ReLU, the last one included: ReLU(ReLU(F(x)) + x)"),

    # --------------------------------------------------------------- the shortcut
    Bug("rs-no-projection", T,
        ((SHORTCUT, "        self.shortcut = nn.Identity()                  # BUG: widths may differ\n"),),
        catches=("projection_when_widths_differ", "forward_eval_projection"),
        named="no projection when the widths differ",
        why="needle's Residual is always fn(x) + x; fails as soon as in != out"),
    Bug("rs-projection-always", T,
        ((SHORTCUT, "        self.shortcut = nn.Linear(in_features, out_features, bias=False)  # BUG\n"),),
        catches=("state_dict_keys_same_width",),
        named="projection although the widths match",
        why="d2l's use_1x1conv=True everywhere: a projection even where the identity fits"),

    Bug("rs-widths-compared-with-is", T,
        (("        if in_features == out_features:\n",
          "        if in_features is out_features:               # BUG: identity of ints\n"),),
        catches=("identity_shortcut_wide",),
        named="widths compared with is",
        why="`is` read as 'equals' (it works in every small test: CPython shares the ints up to "
            "256), so ResidualBlock(300, 300), or make_mlp's blocks of width 512 built with an "
            "explicit out_features, get a projection"),
    Bug("rs-view-in-assertion", T,
        ((FORWARD, "        assert torch.isfinite(x.view(-1)).all(), \"non-finite input\"   # BUG: view\n"
                   + FORWARD),
         ("from torch import Tensor, nn\n", "import torch\nfrom torch import Tensor, nn\n")),
        catches=("non_contiguous_input",),
        named="input flattened with view",
        why="a NaN guard at the top of forward written with x.view(-1): it raises for a "
            "transposed (non-contiguous) batch, where reshape or a plain isfinite(x) would not"),

    # --------------------------------------------------------------- in place and autograd
    Bug("rs-skip-added-into-input", T,
        ((FORWARD,
          "        identity = self.shortcut(x)\n"
          "        identity += self.body(x)                   # BUG: identity IS x for nn.Identity\n"
          "        return identity.relu()\n"),),
        catches=("forward_train_identity",),
        named="skip added into the input",
        why="torchvision's `out += identity` written the other way round: the caller's x is "
            "changed in place when the shortcut is the identity"),
    Bug("rs-skip-detached", T,
        ((FORWARD, "        return (self.body(x) + self.shortcut(x.detach())).relu()\n"),),
        catches=("gradients_train",),
        named="skip path detached",
        why="x.detach() (or x.clone().detach(), to 'copy' it) on the skip path: no gradient "
            "flows through the identity, the point of the block"),

    # --------------------------------------------------------------- make_mlp
    Bug("rs-make-mlp-one-block-repeated", T,
        ((BLOCKS, "    layers += [block(width)] * depth                # BUG: one object, depth times\n"),),
        catches=("make_mlp_structure",),
        named="one block repeated",
        why="[module] * depth repeats one object: all blocks share their weights"),
    Bug("rs-ends-only-together", T,
        (("    if in_features is not None:\n"
          "        layers.append(nn.Linear(in_features, width))\n"
          "    layers += [block(width) for _ in range(depth)]\n"
          "    if out_features is not None:\n"
          "        layers.append(nn.Linear(width, out_features))\n",
          "    if in_features is not None and out_features is not None:   # BUG: each is optional\n"
          "        layers.append(nn.Linear(in_features, width))\n"
          "    layers += [block(width) for _ in range(depth)]\n"
          "    if in_features is not None and out_features is not None:\n"
          "        layers.append(nn.Linear(width, out_features))\n"),),
        catches=("make_mlp_one_end",),
        named="end layers only together",
        why="the two optional ends treated as one option ('a head and a stem, or neither'), "
            "as in MLP builders that take in and out sizes together"),

    # --------------------------------------------------------------- PlainBlock
    Bug("rs-plain-ignores-hidden", T,
        (("        # BEGIN SOLUTION Task 5.3\n"
          "        self.body = nn.Sequential(\n"
          "            nn.Linear(in_features, hidden_features),\n"
          "            BatchNorm1d(hidden_features),\n"
          "            nn.ReLU(),\n"
          "            nn.Linear(hidden_features, out_features),\n",
          "        # BEGIN SOLUTION Task 5.3\n"
          "        self.body = nn.Sequential(\n"
          "            nn.Linear(in_features, out_features),      # BUG: hidden_features ignored\n"
          "            BatchNorm1d(out_features),\n"
          "            nn.ReLU(),\n"
          "            nn.Linear(out_features, out_features),\n"),),
        catches=("plain_block_widths_differ",),
        named="PlainBlock ignores hidden_features",
        why="the 'plain' block written from the picture (two layers of the output width), "
            "forgetting the hidden width that only matters when it is given"),
]

VARIANTS = [
    Correct("rs-ordered-dict-functional-relu", T,
            ((RES_BODY,
              "        self.body = nn.Sequential(OrderedDict([\n"
              "            (\"0\", nn.Linear(in_features, hidden_features)),\n"
              "            (\"1\", BatchNorm1d(hidden_features)),\n"
              "            (\"2\", nn.ReLU()),\n"
              "            (\"3\", nn.Linear(hidden_features, out_features)),\n"
              "            (\"4\", BatchNorm1d(out_features)),\n"
              "        ]))\n"
              "        if in_features == out_features:\n"),
             (FORWARD,
              "        identity = self.shortcut(x)\n"
              "        return torch.nn.functional.relu(self.body(x) + identity)\n"),
             ("from torch import Tensor, nn\n",
              "from collections import OrderedDict\n\nimport torch\nfrom torch import Tensor, nn\n")),
            why="body built from an OrderedDict with the same names; F.relu on the sum"),
    Correct("rs-in-place-sum-and-append", T,
            ((FORWARD,
              "        out = self.body(x)\n"
              "        out += self.shortcut(x)                    # into the body's output, not x\n"
              "        return torch.relu(out)\n"),
             ("    block = ResidualBlock if residual else PlainBlock\n"
              "    layers: list[nn.Module] = []\n"
              "    if in_features is not None:\n"
              "        layers.append(nn.Linear(in_features, width))\n"
              "    layers += [block(width) for _ in range(depth)]\n"
              "    if out_features is not None:\n"
              "        layers.append(nn.Linear(width, out_features))\n"
              "    return nn.Sequential(*layers)\n",
              "    model = nn.Sequential()\n"
              "    if in_features is not None:\n"
              "        model.append(nn.Linear(in_features, width))\n"
              "    for _ in range(depth):\n"
              "        model.append(ResidualBlock(width) if residual else PlainBlock(width))\n"
              "    if out_features is not None:\n"
              "        model.append(nn.Linear(width, out_features))\n"
              "    return model\n"),
             ("from torch import Tensor, nn\n", "import torch\nfrom torch import Tensor, nn\n")),
            why="torchvision's `out += identity` (into the body's output) and torch.relu; "
                "make_mlp grown with Sequential.append"),
    Correct("rs-clamp-and-conditional-shortcut", T,
            ((SHORTCUT,
              "        self.shortcut = (nn.Identity() if in_features == out_features\n"
              "                         else nn.Linear(in_features, out_features, bias=False))\n"),
             (FORWARD, "        return (self.shortcut(x) + self.body(x)).clamp(min=0)\n")),
            why="a conditional expression for the shortcut; clamp(min=0) as the ReLU, "
                "the sum written the other way round"),
]


# ----------------------------------------------------------------------------- trivial submissions
# The whole topic done trivially (audit.trivial_source): each must earn 0 points. The blocks'
# constructors do nothing (no body, no shortcut, no parameters).
_EMPTY_MLP = (("Task 5.5", "return nn.Sequential()"),)
TRIVIAL = [
    Trivial("res-trivial-raise", T, "raise", why="every constructor, forward and make_mlp raises"),
    Trivial("res-trivial-none", T, "none", why="forward and make_mlp return None"),
    Trivial("res-trivial-identity", T, "identity", _EMPTY_MLP,
            why="the blocks return x (the skip alone); make_mlp an empty nn.Sequential"),
    Trivial("res-trivial-zeros", T, "zeros", _EMPTY_MLP,
            why="the blocks return zeros shaped like x; make_mlp an empty nn.Sequential"),
]


# ----------------------------------------------------------------------------- known mistakes
# The grader tries these, in this order, when a check fails (autograder/variants.py).

MISTAKES = [
    Mistake("ReLU before the skip",
            "the ReLU was applied to the body before adding the skip; the block returns "
            "ReLU(body(x) + shortcut(x)): add first, then apply the ReLU.",
            (("return (self.body(x) + self.shortcut(x)).relu()",
              "return self.body(x).relu() + self.shortcut(x)"),),
            classic=True),
    Mistake("no final ReLU",
            "the block returns body(x) + shortcut(x) without the final ReLU.",
            (("return (self.body(x) + self.shortcut(x)).relu()",
              "return self.body(x) + self.shortcut(x)"),),
            classic=True),
    Mistake("skip in PlainBlock",
            "PlainBlock added a skip connection; it is the same body without one: ReLU(body(x)).",
            (("        return self.body(x).relu()\n", "        return (self.body(x) + x).relu()\n"),),
            catches=("plain_block",),
            why="PlainBlock copied from ResidualBlock with the skip left in"),
    Mistake("PlainBlock without the final ReLU",
            "PlainBlock returned body(x) without the final ReLU; it returns ReLU(body(x)).",
            (("        return self.body(x).relu()\n", "        return self.body(x)\n"),)),
    Mistake("ReLU at the end of the body",
            "the body ends with a ReLU; it ends with the second BatchNorm1d, and the only ReLU "
            "after it comes once the skip has been added: ReLU(body(x) + shortcut(x)).",
            (("            BatchNorm1d(out_features),\n"
              "        )\n"
              "        if in_features == out_features:\n",
              "            BatchNorm1d(out_features),\n"
              "            nn.ReLU(),\n"
              "        )\n"
              "        if in_features == out_features:\n"),),
            classic=True),
    Mistake("projection with a bias",
            "the projection shortcut has a bias; make it nn.Linear(in_features, out_features, "
            "bias=False), whose only parameter is shortcut.weight.",
            (("self.shortcut = nn.Linear(in_features, out_features, bias=False)",
              "self.shortcut = nn.Linear(in_features, out_features)"),),
            catches=("projection_when_widths_differ",),
            why="nn.Linear's default bias=True; the ResNet projection (conv1x1 + BN, or a bias-free Linear here) has none"),
    Mistake("no projection when the widths differ",
            "the shortcut is the identity even when in_features != out_features; then it must be "
            "a projection, nn.Linear(in_features, out_features, bias=False), named shortcut.",
            (("            self.shortcut = nn.Identity()\n"
              "        else:\n"
              "            self.shortcut = nn.Linear(in_features, out_features, bias=False)\n",
              "            self.shortcut = nn.Identity()\n"
              "        else:\n"
              "            self.shortcut = nn.Identity()\n"),),
            classic=True),
    Mistake("projection although the widths match",
            "the shortcut is a projection even though in_features == out_features; use "
            "nn.Identity() then, and the bias-free Linear only when the widths differ.",
            (("            self.shortcut = nn.Identity()\n"
              "        else:\n",
              "            self.shortcut = nn.Linear(in_features, out_features, bias=False)\n"
              "        else:\n"),)),
    Mistake("skip path detached",
            "no gradient flows back through the skip connection (x.detach() or .data on the "
            "shortcut path); pass x itself so the identity carries the gradient.",
            (("        return (self.body(x) + self.shortcut(x)).relu()",
              "        return (self.body(x) + self.shortcut(x.detach())).relu()"),)),
    Mistake("one block repeated",
            "make_mlp repeated one block object ([block] * depth), so all blocks share one set of "
            "weights; create a new block for each position: [block(width) for _ in range(depth)].",
            (("    layers += [block(width) for _ in range(depth)]\n",
              "    layers += [block(width)] * depth\n"),),
            classic=True),
    Mistake("residual flag ignored",
            "make_mlp built ResidualBlocks even with residual=False; it must use PlainBlock then.",
            (("    block = ResidualBlock if residual else PlainBlock\n",
              "    block = ResidualBlock\n"),),
            catches=("make_mlp_structure",),
            why="the residual=False switch forgotten"),
    Mistake("skip added into the input",
            "the body's output was added into x in place (identity += body(x), where the identity "
            "shortcut returns x itself), so the caller's x changed; add out of place: "
            "body(x) + shortcut(x).",
            (("        return (self.body(x) + self.shortcut(x)).relu()        # add, THEN ReLU\n",
              "        identity = self.shortcut(x)\n"
              "        identity += self.body(x)\n"
              "        return identity.relu()\n"),),
            checks=("forward_train_identity",)),
    Mistake("PlainBlock ignores hidden_features",
            "PlainBlock's first Linear maps in_features straight to out_features, ignoring "
            "hidden_features; the body is Linear(in, hidden), BN(hidden), ReLU, Linear(hidden, out), "
            "BN(out), as in ResidualBlock.",
            (("        # BEGIN SOLUTION Task 5.3\n"
              "        self.body = nn.Sequential(\n"
              "            nn.Linear(in_features, hidden_features),\n"
              "            BatchNorm1d(hidden_features),\n"
              "            nn.ReLU(),\n"
              "            nn.Linear(hidden_features, out_features),\n",
              "        # BEGIN SOLUTION Task 5.3\n"
              "        self.body = nn.Sequential(\n"
              "            nn.Linear(in_features, out_features),\n"
              "            BatchNorm1d(out_features),\n"
              "            nn.ReLU(),\n"
              "            nn.Linear(out_features, out_features),\n"),),
            checks=("plain_block_widths_differ",)),
    Mistake("end layers only together",
            "make_mlp added the end layers only when both in_features and out_features were given; "
            "each is optional on its own: the input Linear whenever in_features is given, the "
            "output Linear whenever out_features is given.",
            (("    if in_features is not None:\n"
              "        layers.append(nn.Linear(in_features, width))\n"
              "    layers += [block(width) for _ in range(depth)]\n"
              "    if out_features is not None:\n"
              "        layers.append(nn.Linear(width, out_features))\n",
              "    if in_features is not None and out_features is not None:\n"
              "        layers.append(nn.Linear(in_features, width))\n"
              "    layers += [block(width) for _ in range(depth)]\n"
              "    if in_features is not None and out_features is not None:\n"
              "        layers.append(nn.Linear(width, out_features))\n"),),
            checks=("make_mlp_one_end",)),
    Mistake("widths compared with is",
            "the widths were compared with `is`, which asks whether they are the same int object, "
            "not the same number (Python shares only the small ints, up to 256): ResidualBlock(300, "
            "300) got a projection. Compare with ==.",
            (("        if in_features == out_features:\n", "        if in_features is out_features:\n"),),
            checks=("identity_shortcut_wide",)),
    Mistake("input flattened with view",
            "forward called x.view(-1) (here in a sanity check), which raises for a non-contiguous "
            "x such as a transposed batch; use x.reshape(-1), or leave x's layout alone.",
            ((RESIDUAL_FORWARD,
              "        assert torch.isfinite(x.view(-1)).all(), \"non-finite input\"\n"
              + RESIDUAL_FORWARD),
             ("from torch import Tensor, nn\n", "import torch\nfrom torch import Tensor, nn\n")),
            checks=("non_contiguous_input",)),
]


# ----------------------------------------------------------------------------- one bug a check
# Bugs that prove a check no other bug of the bank fails (tests/test_audit.py).
BUGS += [
    Bug("rs-relu-as-max-with-cpu-zeros", T,
        (("from torch import Tensor, nn\n", "import torch\nfrom torch import Tensor, nn\n"),
         (FORWARD,
          "        out = self.body(x) + self.shortcut(x)\n"
          "        return torch.maximum(out, torch.zeros(out.shape, dtype=out.dtype))   # BUG: CPU\n")),
        catches=("device_placement",),
        why="ReLU written as max(out, 0) with a zeros tensor made without device=: on the CPU"),
]
