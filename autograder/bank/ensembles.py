"""Known student bugs and correct variants for ensembles (see autograder/variants.py).

Sources for the misconceptions: Lakshminarayanan et al. 2017 (deep ensembles
average probabilities), Gal & Ghahramani 2016 (MC dropout) and the many blog
posts that call model.train() for it, scikit-learn's VotingClassifier (soft vs
hard voting), d2l.ai and CS231n notes on model ensembles, and forum threads
("MC dropout with batchnorm", "torch.mode ties", "ModuleList vs list").

Classic mistakes (`classic=True`): the few that those sources warn about, and that students
make most: logits averaged instead of probabilities (or the softmax of their average),
model.train() for MC dropout (BatchNorm then in training mode), the modes not restored,
the members in a plain Python list, and bootstrap samples drawn without replacement (a
permutation: Breiman 1996 and every bagging tutorial warn that bagging needs repeats).
A public check catches each classic mistake, so that a student whose public checks
all pass has made none of them (tests/test_classic_mistakes.py; docs/CLASSIC_MISTAKES.md
lists what the public checks catch and name).
"""
from autograder.hidden.ensembles import WITHOUT_REPLACEMENT
from autograder.variants import Bug, Correct, Mistake, Trivial

T = "ensembles"

AVERAGE = ("    if not isinstance(predictions, Tensor):\n"
           "        predictions = torch.stack(list(predictions))      # (M, *S)\n"
           "    return predictions.mean(dim=0)                          # (*S)\n")
COUNT = ("    one_hot = nn.functional.one_hot(votes, num_classes)    # (M, N, C)\n"
         "    counts = one_hot.sum(dim=0)                             # (N, C)\n"
         "    return counts.argmax(dim=1)                             # (N,) first max wins\n")
MEAN_MODE = ("        probs = [torch.softmax(z, dim=1) for z in logits]   # M x (N, C)\n"
             "        return average_predictions(probs)                   # (N, C)\n")
RESTORE = ("        for m, was_training in previous.items():\n"
           "            m.training = was_training\n")
ENABLE = ("        for m in model.modules():\n"
          "            if isinstance(m, nn.Dropout) or type(m).__name__ == \"Dropout\":\n"
          "                m.train()\n")
VOTE_STACK = ("    if not isinstance(predictions, Tensor):\n"
              "        predictions = torch.stack(list(predictions))      # (M, N) or (M, N, C)\n")
BOOT = ("    return torch.randint(n, (members, n), generator=generator,     # high is exclusive\n"
        "                         device=generator.device)                   # (members, n) int64\n")
MEMBERS_CALLED = "        logits = [model(x) for model in self.models]        # M x (N, C)\n"
VECTORISED = ("        import copy                                         # BUG: identical members only\n"
              "        base = copy.deepcopy(self.models[0]).to(\"meta\")\n"
              "        names = [name for name, _ in self.models[0].named_parameters()]\n"
              "        stacked = {name: torch.stack([dict(m.named_parameters())[name] for m in self.models])\n"
              "                   for name in names}\n"
              "        logits = list(torch.vmap(lambda p: torch.func.functional_call(base, p, (x,)))(stacked))\n")
PASSES = ("        with torch.no_grad():\n"
          "            outputs = [model(x) for _ in range(n_samples)]  # n_samples x S\n"
          "        return average_predictions(outputs)\n")

BUGS = [
    # --------------------------------------------------------------- conventions
    Bug("en-ties-first-vote-seen", T,
        ((COUNT,
          "    from collections import Counter\n"
          "    winners = [Counter(votes[:, i].tolist()).most_common(1)[0][0]   # BUG: first seen\n"
          "               for i in range(votes.shape[1])]\n"
          "    return torch.tensor(winners, dtype=torch.long, device=votes.device)\n"),),
        catches=("vote_ties_smallest_class",),
        named="ties to the first vote seen",
        why="collections.Counter.most_common breaks ties by first occurrence, not by class index"),
    Bug("en-vote-by-mean-probabilities", T,
        (("            return majority_vote(logits)                    # (N,) int64\n",
          "            return average_predictions([z.softmax(1) for z in logits]).argmax(1)  # BUG\n"),),
        catches=("ensemble_vote",),
        named="vote by averaged probabilities",
        why="soft voting (argmax of the mean probability) where hard voting was asked for"),

    # --------------------------------------------------------------- wrong dims and shapes
    Bug("en-average-cat", T,
        (("        predictions = torch.stack(list(predictions))      # (M, *S)\n",
          "        predictions = torch.cat(list(predictions))        # BUG: (M * N, C)\n"),),
        catches=("average_list",),
        named="members glued with torch.cat",
        why="torch.cat instead of torch.stack: the members are glued along the batch"),

    # --------------------------------------------------------------- device and dtype
    Bug("en-average-float32-accumulator", T,
        ((AVERAGE,
          "    total = torch.zeros(predictions[0].shape)           # BUG: float32, on the CPU\n"
          "    for p in predictions:\n"
          "        total += p\n"
          "    return total / len(predictions)\n"),),
        catches=("average_stacked", "device_placement"),
        named="float32 accumulator",
        why="an accumulator made with torch.zeros(shape): float64 members are rounded to float32"),
    Bug("en-vote-counts-on-cpu", T,
        ((COUNT,
          "    counts = torch.zeros(votes.shape[1], num_classes, dtype=torch.long)   # BUG: CPU\n"
          "    counts.scatter_add_(1, votes.T, torch.ones_like(votes.T))\n"
          "    return counts.argmax(dim=1)\n"),),
        catches=("device_placement",),
        why="a vote table made with torch.zeros(N, C): on the CPU whatever the votes' device"),

    # --------------------------------------------------------------- state: MC dropout modes
    Bug("en-mc-modes-not-restored", T,
        ((RESTORE, "        pass\n"),),
        catches=("mc_dropout_restores_modes",),
        named="modes not restored",
        why="the model is left with Dropout in training mode after prediction"),
    Bug("en-mc-dropout-not-enabled", T,
        ((ENABLE, ""),),
        catches=("mc_dropout_keeps_dropout_active",),
        named="dropout left in eval mode",
        why="model.eval() alone: every pass is the same deterministic prediction"),

    # --------------------------------------------------------------- autograd
    Bug("en-mc-without-no-grad", T,
        ((PASSES,
          "        outputs = [model(x) for _ in range(n_samples)]      # BUG: builds a graph\n"
          "        return average_predictions(outputs)\n"),),
        catches=("mc_dropout_keeps_dropout_active",),
        named="autograd left on",
        why="torch.no_grad() forgotten: n_samples graphs kept in memory, output requires grad"),

    # --------------------------------------------------------------- other inputs
    Bug("en-list-only", T,
        (("    if not isinstance(predictions, Tensor):\n"
          "        predictions = torch.stack(list(predictions))      # (M, *S)\n",
          "    if isinstance(predictions, list):                     # BUG: a tuple is no list\n"
          "        predictions = torch.stack(predictions)\n"),),
        catches=("predictions_as_tuple",),
        named="list only",
        why="isinstance(predictions, list) as the test for 'several members': a tuple (zip(*...), "
            "a model returning a tuple) reaches .mean and fails"),
    Bug("en-vote-list-only", T,
        ((VOTE_STACK,
          "    if isinstance(predictions, list):                     # BUG: a tuple is no list\n"
          "        predictions = torch.stack(predictions)\n"),),
        catches=("predictions_as_tuple",),
        named="votes of a list only",
        why="the same list-only test in majority_vote"),
    Bug("en-accumulator-aliases", T,
        ((AVERAGE,
          "    if isinstance(predictions, Tensor):\n"
          "        return predictions.mean(dim=0)\n"
          "    total = predictions[0]                                # BUG: not a copy\n"
          "    for p in predictions[1:]:\n"
          "        total += p\n"
          "    return total / len(predictions)\n"),),
        catches=("average_leaves_members_unchanged",),
        named="accumulated into the first member",
        why="a running sum started from the first member (numpy habit: total = a[0]; total += ...): "
            "+= then writes into the caller's tensor"),
    Bug("en-stacked-means-scores", T,
        ((VOTE_STACK + "    if predictions.dim() == 3:\n"
          "        num_classes = predictions.shape[2]\n"
          "        votes = predictions.argmax(dim=2)                   # (M, N)\n",
          "    stacked = isinstance(predictions, Tensor)\n"
          "    if not stacked:\n"
          "        predictions = torch.stack(list(predictions))\n"
          "    if stacked or predictions.dim() == 3:                # BUG: stacked (M, N) labels too\n"
          "        num_classes = predictions.shape[-1]\n"
          "        votes = predictions.argmax(dim=-1)\n"),),
        catches=("vote_stacked_labels",),
        named="stacked tensor taken for scores",
        why="'a list holds labels, a tensor holds scores': the stacked-labels form of the docstring "
            "overlooked"),
    Bug("en-one-hot-raw-labels", T,
        (("        votes = predictions.long()                          # (M, N)\n",
          "        votes = predictions                                 # BUG: int32 stays int32\n"),),
        catches=("vote_int32_labels",),
        named="labels not converted to int64",
        why="labels assumed to be int64 (as torch.randint makes them); one_hot refuses int32 "
            "and uint8 (labels from numpy or from a compact dataset)"),
    Bug("en-squeeze", T,
        (("        predictions = torch.stack(list(predictions))      # (M, N) or (M, N, C)\n",
          "        predictions = torch.stack(list(predictions)).squeeze()   # BUG: drops size-1 dims\n"),),
        catches=("vote_single_member_or_sample",),
        named="squeezed",
        why=".squeeze() 'to tidy the shape' (a numpy habit): one member or one sample loses its "
            "dimension"),
    Bug("en-softmax-float32", T,
        (("probs = [torch.softmax(z, dim=1) for z in logits]",
          "probs = [torch.softmax(z, dim=1, dtype=torch.float32) for z in logits]  # BUG"),),
        catches=("ensemble_float64",),
        named="softmax in float32",
        why="softmax forced to float32 for stability (an AMP habit): float64 members come back "
            "in float32"),
    Bug("en-mc-no-finally", T,
        (("    try:\n"
          "        model.eval()\n" + ENABLE + PASSES +
          "    finally:\n" + RESTORE,
          "    model.eval()\n"
          "    for m in model.modules():\n"
          "        if isinstance(m, nn.Dropout) or type(m).__name__ == \"Dropout\":\n"
          "            m.train()\n"
          "    with torch.no_grad():\n"
          "        outputs = [model(x) for _ in range(n_samples)]\n"
          "    for m, was_training in previous.items():            # BUG: skipped if a pass raises\n"
          "        m.training = was_training\n"
          "    return average_predictions(outputs)\n"),),
        catches=("mc_dropout_restores_modes_on_error",),
        named="modes restored outside finally",
        why="save, switch, predict, restore in straight-line code: an exception in a pass leaves "
            "the model in MC-dropout mode"),
    Bug("en-mc-isinstance-only", T,
        (("            if isinstance(m, nn.Dropout) or type(m).__name__ == \"Dropout\":\n",
          "            if isinstance(m, nn.Dropout):                      # BUG: yours is not one\n"),),
        catches=("mc_dropout_own_dropout_class",),
        named="only nn.Dropout switched on",
        why="the blog-post recipe `if isinstance(m, nn.Dropout): m.train()`: the student's own "
            "topic-4 Dropout subclasses nn.Module, not nn.Dropout, and stays in eval mode"),
    Bug("en-mc-name-compared-with-is", T,
        (("            if isinstance(m, nn.Dropout) or type(m).__name__ == \"Dropout\":\n",
          "            if isinstance(m, nn.Dropout) or type(m).__name__ is \"Dropout\":   # BUG: is\n"),),
        catches=("mc_dropout_own_dropout_class",),
        named="only nn.Dropout switched on",
        why="strings compared with `is`: true for a class written `class Dropout` (its name is "
            "interned, as the literal is), false for a name made at run time (Python only warns "
            "about `is` with a literal)"),

    # --------------------------------------------------------------- bagging: bootstrap_indices
    Bug("boot-shape-transposed", T,
        ((BOOT, "    return torch.randint(n, (n, members), generator=generator, device=generator.device)  # BUG\n"),),
        catches=("bootstrap_shape_and_range",),
        named="shape (n, members)",
        why="one column per member, as a design matrix has one column per feature"),
    Bug("boot-float-indices", T,
        ((BOOT, "    return (torch.rand(members, n, generator=generator, device=generator.device) * n).floor()  # BUG\n"),),
        catches=("bootstrap_shape_and_range",),
        named="float indices",
        why="floor(rand * n), as in numpy-free pseudo-code, without converting to integers"),
    Bug("boot-high-n-minus-1", T,
        ((BOOT, "    return torch.randint(n - 1, (members, n), generator=generator, device=generator.device)  # BUG\n"),),
        catches=("bootstrap_distribution",),
        named="upper bound n - 1",
        why="randint's high taken as inclusive (Python's random.randint(0, n - 1) is): the "
            "last example is never drawn, and n = 1 raises"),
    Bug("boot-low-one", T,
        ((BOOT, "    return torch.randint(1, n, (members, n), generator=generator, device=generator.device)  # BUG\n"),),
        catches=("bootstrap_distribution",),
        named="lower bound 1",
        why="indices counted from 1, as in R or in the formula's x_1 .. x_n"),
    Bug("boot-one-bag-repeated", T,
        ((BOOT, "    bag = torch.randint(n, (n,), generator=generator, device=generator.device)\n"
                "    return bag.repeat(members, 1)                              # BUG: one bag for all\n"),),
        catches=("bootstrap_shape_and_range", "bootstrap_distribution"),
        named="one bag for every member",
        why="one bootstrap sample drawn and broadcast to every member: no diversity"),
    Bug("boot-multinomial-without-replacement", T,
        ((BOOT, "    weights = torch.ones(members, n, device=generator.device)\n"
                "    return torch.multinomial(weights, n, generator=generator)     # BUG: replacement=False\n"),),
        catches=("bootstrap_distribution",),
        named="drawn without replacement",
        why="torch.multinomial's replacement defaults to False: n draws of n are a permutation"),
    Bug("boot-rounded-uniform", T,
        ((BOOT, "    u = torch.rand(members, n, generator=generator, device=generator.device)\n"
                "    return (u * (n - 1)).round().long()                        # BUG: ends half as likely\n"),),
        catches=("bootstrap_distribution",),
        named="rounded uniform",
        why="rounding a uniform float to the nearest index: 0 and n - 1 get half-width intervals"),
    Bug("boot-global-rng", T,
        ((BOOT, "    return torch.randint(n, (members, n), device=generator.device)  # BUG: global RNG\n"),),
        catches=("bootstrap_reproducible",),
        named="generator ignored",
        why="the generator argument accepted but not passed on: the global random state is used"),
    Bug("boot-reseeded", T,
        ((BOOT, "    generator.manual_seed(0)                                    # BUG: 'reproducible'\n" + BOOT),),
        catches=("bootstrap_reproducible",),
        named="generator re-seeded",
        why="seeding inside the function for reproducibility: every call gives the same bags"),
]

VARIANTS = [
    Correct("en-scatter-add-vote", T,
            ((COUNT,
              "    counts = torch.zeros(votes.shape[1], num_classes, dtype=torch.long,\n"
              "                         device=votes.device)\n"
              "    counts.scatter_add_(1, votes.T, torch.ones_like(votes.T))\n"
              "    return counts.argmax(dim=1)\n"),),
            why="vote counts with scatter_add_ into a table on the votes' device"),
    Correct("en-bincount-loop", T,
            ((COUNT,
              "    winners = [torch.bincount(votes[:, i], minlength=num_classes).argmax()\n"
              "               for i in range(votes.shape[1])]\n"
              "    if not winners:\n"
              "        return torch.zeros(0, dtype=torch.long, device=votes.device)\n"
              "    return torch.stack(winners)\n"),),
            why="torch.bincount per sample (argmax keeps the first maximum)"),
    Correct("en-stack-softmax-mean", T,
            ((AVERAGE,
              "    if isinstance(predictions, Tensor):\n"
              "        return predictions.mean(0)\n"
              "    return sum(predictions) / len(predictions)\n"),
             ("        logits = [model(x) for model in self.models]        # M x (N, C)\n"
              "        if self.mode == \"vote\":\n"
              "            return majority_vote(logits)                    # (N,) int64\n" + MEAN_MODE,
              "        stacked = torch.stack([model(x) for model in self.models])   # (M, N, C)\n"
              "        if self.mode == \"vote\":\n"
              "            return majority_vote(stacked)\n"
              "        return stacked.softmax(dim=-1).mean(dim=0)\n")),
            why="sum(list) / M for lists; the ensemble stacks the members and softmaxes over -1"),
    Correct("en-mc-mode-list-running-sum", T,
            (("    previous = {m: m.training for m in model.modules()}\n"
              "    try:\n"
              "        model.eval()\n" + ENABLE + PASSES +
              "    finally:\n" + RESTORE,
              "    modules = list(model.modules())\n"
              "    modes = [m.training for m in modules]\n"
              "    try:\n"
              "        for m in modules:\n"
              "            m.train(isinstance(m, nn.Dropout) or type(m).__name__ == \"Dropout\")\n"
              "        total = None\n"
              "        with torch.no_grad():\n"
              "            for _ in range(n_samples):\n"
              "                out = model(x)\n"
              "                total = out if total is None else total + out\n"
              "        return total / n_samples\n"
              "    finally:\n"
              "        for m, mode in zip(modules, modes):\n"
              "            m.train(mode)\n"),),
            why="modes kept in a list and set per module with train(flag); a running sum"),
    Correct("boot-randint-per-row", T,
            ((BOOT, "    rows = [torch.randint(0, n, (n,), generator=generator, device=generator.device)\n"
                    "            for _ in range(members)]\n"
                    "    return torch.stack(rows)\n"),),
            why="one torch.randint(0, n, ...) per member, stacked: other numbers, same distribution"),
    Correct("boot-multinomial-with-replacement", T,
            ((BOOT, "    weights = torch.ones(members, n, device=generator.device)\n"
                    "    return torch.multinomial(weights, n, replacement=True, generator=generator)\n"),),
            why="torch.multinomial over uniform weights, with replacement"),
    Correct("en-members-called-in-a-loop", T,
            ((MEMBERS_CALLED,
              "        logits = []\n"
              "        for i in range(len(self.models)):\n"
              "            logits.append(self.models[i](x))\n"),),
            why="the members indexed and called one by one"),
]


# ----------------------------------------------------------------------------- trivial submissions
# The whole topic done trivially (audit.trivial_source): each must earn 0 points. Ensemble's
# constructor does nothing (no members).
TRIVIAL = [
    Trivial("ens-trivial-raise", T, "raise", why="every function and method raises ValueError"),
    Trivial("ens-trivial-none", T, "none", why="every function and forward returns None"),
    Trivial("ens-trivial-identity", T, "identity",
            (("Task 6.1", "return predictions[0]"), ("Task 6.2", "return predictions[0]"),
             ("Task 6.5", "return x"),
             ("Task 6.6", "return torch.arange(n, device=generator.device).repeat(members, 1)")),
            why="the first member's predictions stand for the ensemble's; forward and "
                "mc_dropout_predict return x; every bag is the whole dataset in order"),
    Trivial("ens-trivial-zeros", T, "zeros",
            (("Task 6.1", "return torch.zeros_like(predictions[0])"),
             ("Task 6.2", "return torch.zeros(len(predictions[0]), dtype=torch.int64, "
                          "device=predictions[0].device)"),
             ("Task 6.5", "return torch.zeros_like(x)"),
             ("Task 6.6", "return torch.zeros(members, n, dtype=torch.int64, device=generator.device)")),
            why="zeros of the expected shape and dtype; class 0 for every vote; index 0 in every bag"),
    Trivial("ens-trivial-one-pass", T, "identity",
            (("Task 6.1", "return predictions[0]"), ("Task 6.2", "return predictions[0]"),
             ("Task 6.5", "with torch.no_grad():\n    return model(x)")),
            why="mc_dropout_predict runs one forward pass in whatever mode the model is in "
                "and touches no module's flag"),
]


# ----------------------------------------------------------------------------- known mistakes
# The grader tries these, in this order, when a check fails (autograder/variants.py).

MISTAKES = [
    Mistake("averaged logits",
            "the ensemble averaged the members' logits; mode=\"mean\" averages their softmax "
            "probabilities (softmax each member's output first, then take the mean).",
            (("probs = [torch.softmax(z, dim=1) for z in logits]", "probs = logits"),),
            catches=("ensemble_mean_probabilities",),
            why="averaging the raw outputs as for regression; deep ensembles average probabilities",
            classic=True),
    Mistake("ties to the largest class",
            "ties went to the largest class index; they go to the smallest (argmax over the vote "
            "counts returns the first maximum).",
            (("return counts.argmax(dim=1)                             # (N,) first max wins",
              "return (counts.shape[1] - 1) - counts.flip(1).argmax(dim=1)"),),
            catches=("vote_ties_smallest_class",),
            why="a tie rule that keeps the last maximum (np.argmax on reversed counts, `>=` in a loop)"),
    Mistake("whole model in train mode",
            "the whole model was put in training mode, so BatchNorm used (and updated) batch "
            "statistics; only the Dropout modules go to training mode, everything else to eval.",
            (("        model.eval()\n        for m in model.modules():", "        model.train()\n        for m in model.modules():"),),
            catches=("mc_dropout_batchnorm_in_eval",),
            why="the common MC-dropout recipe model.train(): BatchNorm then uses and updates batch statistics",
            classic=True),
    Mistake("modes restored outside finally",
            "the flags were restored after the passes but not in a finally block, so a pass that "
            "raised left the model with its Dropout in training mode; restore them in "
            "try: ... finally: ...",
            (("    try:\n"
              "        model.eval()\n",
              "    if True:\n"
              "        model.eval()\n"),
             ("        return average_predictions(outputs)\n"
              "    finally:\n"
              "        for m, was_training in previous.items():\n"
              "            m.training = was_training\n",
              "    for m, was_training in previous.items():\n"
              "        m.training = was_training\n"
              "    return average_predictions(outputs)\n")),
            checks=("mc_dropout_restores_modes_on_error",)),
    Mistake("modes not restored",
            "the modules' train/eval flags were not restored afterwards; remember each module's "
            "flag before and set it back (in a finally block).",
            (("        for m, was_training in previous.items():\n            m.training = was_training",
              "        pass"),),
            classic=True),
    Mistake("model.train() instead of restoring",
            "afterwards every module was put in training mode; restore each module's own previous "
            "flag instead (the model may have been in eval mode, or partly in training mode).",
            (("        for m, was_training in previous.items():\n            m.training = was_training",
              "        model.train()"),)),
    Mistake("softmax of the averaged logits",
            "the ensemble took the softmax of the averaged logits; mode=\"mean\" averages the "
            "members' probabilities: softmax each member's logits, then take the mean.",
            (("        probs = [torch.softmax(z, dim=1) for z in logits]   # M x (N, C)\n"
              "        return average_predictions(probs)                   # (N, C)\n",
              "        return torch.softmax(average_predictions(logits), dim=1)\n"),),
            catches=("ensemble_mean_probabilities",),
            why="'average, then normalize': a geometric-mean ensemble, not the mean of probabilities",
            classic=True),
    Mistake("softmax over the wrong dim",
            "the softmax was taken over the batch (dim 0); each row of logits is one sample, so "
            "take it over the classes: torch.softmax(z, dim=1).",
            (("torch.softmax(z, dim=1)", "torch.softmax(z, dim=0)"),)),
    Mistake("ties to the first vote seen",
            "ties went to the class that was voted for first (as collections.Counter.most_common "
            "does); they go to the smallest class index: count the votes per class and take argmax.",
            (("    one_hot = nn.functional.one_hot(votes, num_classes)    # (M, N, C)\n"
              "    counts = one_hot.sum(dim=0)                             # (N, C)\n"
              "    return counts.argmax(dim=1)                             # (N,) first max wins\n",
              "    from collections import Counter\n"
              "    winners = [Counter(votes[:, i].tolist()).most_common(1)[0][0]\n"
              "               for i in range(votes.shape[1])]\n"
              "    return torch.tensor(winners, dtype=torch.long, device=votes.device)\n"),)),
    Mistake("vote by averaged probabilities",
            "mode=\"vote\" returned the argmax of the averaged probabilities (soft voting); it is "
            "the majority vote of the members' own argmax labels (hard voting).",
            (("            return majority_vote(logits)                    # (N,) int64\n",
              "            return average_predictions([z.softmax(1) for z in logits]).argmax(1)\n"),)),
    Mistake("members in a plain list",
            "the members are kept in a Python list, which hides them from state_dict(), .to() and "
            ".eval(); keep them in nn.ModuleList(models) named models.",
            (("self.models = nn.ModuleList(models)", "self.models = list(models)"),),
            catches=("ensemble_members_registered",),
            why="a Python list hides the members from .to(), .eval(), .parameters() and state_dict",
            classic=True),
    Mistake("members glued with torch.cat",
            "the members were joined with torch.cat, which glues them along the batch (M * N rows); "
            "torch.stack puts them on a new dim 0, (M, N, ...), over which the mean is taken.",
            (("        predictions = torch.stack(list(predictions))      # (M, *S)\n",
              "        predictions = torch.cat(list(predictions))\n"),),
            checks=("average_list",)),
    Mistake("argmax over the wrong dim",
            "the members' votes were taken with argmax over dim 1 of the stacked (M, N, C) scores, "
            "which is the samples; each member votes its argmax over the classes, dim 2 (or -1).",
            (("votes = predictions.argmax(dim=2)", "votes = predictions.argmax(dim=1)"),),
            checks=("vote_scores", "vote_stacked_scores", "vote_single_member_or_sample"),
            catches=("vote_scores", "vote_stacked_scores"),
            why="argmax(dim=1), right for one member's (N, C) scores, applied after stacking (M, N, C)"),
    Mistake("float32 accumulator",
            "the sum was accumulated in a tensor made with torch.zeros(shape), which is float32 (and "
            "on the CPU) whatever the members are; make it like the members: torch.zeros_like, or "
            "stack them and take .mean(dim=0).",
            (("    if not isinstance(predictions, Tensor):\n"
              "        predictions = torch.stack(list(predictions))      # (M, *S)\n"
              "    return predictions.mean(dim=0)                          # (*S)\n",
              "    total = torch.zeros(predictions[0].shape)\n"
              "    for p in predictions:\n"
              "        total += p\n"
              "    return total / len(predictions)\n"),),
            checks=("average_stacked",)),
    Mistake("list only",
            "only a list was stacked, so a tuple of members reached the list-only code; the "
            "members may come as a list or a tuple: test isinstance(predictions, Tensor) and stack "
            "anything else (torch.stack(list(predictions))).",
            (("    if not isinstance(predictions, Tensor):\n"
              "        predictions = torch.stack(list(predictions))      # (M, *S)\n",
              "    if isinstance(predictions, list):\n"
              "        predictions = torch.stack(predictions)\n"),),
            checks=("predictions_as_tuple",)),
    Mistake("votes of a list only",
            "majority_vote stacked only a list, so a tuple of members reached the tensor code; the "
            "members may come as a list or a tuple: test isinstance(predictions, Tensor) and stack "
            "anything else (torch.stack(list(predictions))).",
            (("    if not isinstance(predictions, Tensor):\n"
              "        predictions = torch.stack(list(predictions))      # (M, N) or (M, N, C)\n",
              "    if isinstance(predictions, list):\n"
              "        predictions = torch.stack(predictions)\n"),),
            checks=("predictions_as_tuple",)),
    Mistake("accumulated into the first member",
            "the sum was accumulated into predictions[0] itself (total = predictions[0]; total += p), "
            "which changes the caller's first member; start from a new tensor (sum(...), "
            "torch.stack(...).mean(0)) or clone the first one.",
            (("    if not isinstance(predictions, Tensor):\n"
              "        predictions = torch.stack(list(predictions))      # (M, *S)\n"
              "    return predictions.mean(dim=0)                          # (*S)\n",
              "    if isinstance(predictions, Tensor):\n"
              "        return predictions.mean(dim=0)\n"
              "    total = predictions[0]\n"
              "    for p in predictions[1:]:\n"
              "        total += p\n"
              "    return total / len(predictions)\n"),),
            checks=("average_leaves_members_unchanged",)),
    Mistake("stacked tensor taken for scores",
            "a stacked tensor was always read as scores (argmax over its last dim); a stacked (M, N) "
            "tensor holds labels, and only a 3-D (M, N, C) one holds scores: decide by the number of "
            "dimensions, not by list versus tensor.",
            (("    if not isinstance(predictions, Tensor):\n"
              "        predictions = torch.stack(list(predictions))      # (M, N) or (M, N, C)\n"
              "    if predictions.dim() == 3:\n",
              "    stacked = isinstance(predictions, Tensor)\n"
              "    if not stacked:\n"
              "        predictions = torch.stack(list(predictions))      # (M, N) or (M, N, C)\n"
              "    if stacked or predictions.dim() == 3:\n"),
             ("        num_classes = predictions.shape[2]\n        votes = predictions.argmax(dim=2)",
              "        num_classes = predictions.shape[-1]\n        votes = predictions.argmax(dim=-1)")),
            checks=("vote_stacked_labels",)),
    Mistake("labels not converted to int64",
            "the labels went to one_hot in their own integer dtype; one_hot (and the vote counts) "
            "need int64 class indices: convert with .long() first.",
            (("        votes = predictions.long()                          # (M, N)\n",
              "        votes = predictions                                 # (M, N)\n"),),
            checks=("vote_int32_labels",)),
    Mistake("squeezed",
            "the stacked members were squeezed, which also removes a dimension of size 1 that "
            "belongs to the data (one member, one sample); stack without squeezing: "
            "torch.stack(list(predictions)).",
            (("        predictions = torch.stack(list(predictions))      # (M, N) or (M, N, C)\n",
              "        predictions = torch.stack(list(predictions)).squeeze()\n"),),
            checks=("vote_single_member_or_sample",)),
    Mistake("softmax in float32",
            "the softmax was computed in float32 (dtype=torch.float32, an AMP habit), so float64 "
            "members give float32 probabilities; keep the members' dtype: torch.softmax(z, dim=1).",
            (("probs = [torch.softmax(z, dim=1) for z in logits]",
              "probs = [torch.softmax(z, dim=1, dtype=torch.float32) for z in logits]"),),
            checks=("ensemble_float64",)),
    Mistake("n_samples not checked",
            "n_samples < 1 was not rejected; raise ValueError for it (with 0 passes there is "
            "nothing to average).",
            (("    if n_samples < 1:\n"
              "        raise ValueError(f\"n_samples must be at least 1, but got {n_samples}\")\n", ""),),
            checks=("mc_dropout_invalid_n_samples",),
            catches=("mc_dropout_invalid_n_samples",),
            why="argument checking left out: n_samples=0 fails with torch.stack's RuntimeError (an empty list) instead of a ValueError"),
    Mistake("empty votes not handled",
            "majority_vote took votes.max() of members with no samples, which raises for an empty "
            "tensor; with no samples the answer is an empty int64 tensor of shape (0,): use one "
            "class (or skip max()) when votes.numel() == 0.",
            (("        num_classes = int(votes.max()) + 1 if votes.numel() else 1\n",
              "        num_classes = int(votes.max()) + 1\n"),),
            checks=("vote_no_samples_or_one_class",),
            catches=("vote_no_samples_or_one_class",),
            why="max(label) + 1 classes, as the hint says, without the empty case: max() of a tensor with no elements raises (members that predicted an empty batch)"),
    Mistake(WITHOUT_REPLACEMENT.name, WITHOUT_REPLACEMENT.message,
            ((BOOT, "    return torch.stack([torch.randperm(n, generator=generator, device=generator.device)\n"
                    "                        for _ in range(members)])\n"),),
            checks=("bootstrap_distribution",),
            why="bagging confused with shuffling: torch.randperm gives every member the same "
                "data in another order",
            classic=True),
    Mistake("members stacked into one vectorised model",
            "the members' parameters were stacked into one vectorised model (torch.vmap over "
            "torch.func.functional_call, as in PyTorch's model-ensembling tutorial), which runs only "
            "when every member has the same architecture; call each member on x instead: "
            "[model(x) for model in self.models].",
            ((MEMBERS_CALLED, VECTORISED),),
            checks=("ensemble_mixed_architectures",),
            why="PyTorch's model-ensembling tutorial (functional_call under vmap over stacked "
                "parameters) followed by hand: fast, but only for identical members"),
]
