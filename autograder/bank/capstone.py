"""Known student bugs and correct variants for the capstone (see autograder/variants.py).

Every entry trains a model in digits_accuracy (10-20 s on a loaded 2-core machine), so
the bank is kept small. Sources for the misconceptions: Keras-style models ending in a
Softmax layer fed to nn.CrossEntropyLoss (PyTorch forum: "softmax before
CrossEntropyLoss?"), the "forgot optimizer.zero_grad()" and "model.eval() not called"
threads, "Expected more than 1 value per channel when training" (BatchNorm with a last
batch of one), d2l.ai's training loops (no time limit), and SGD habits carried to Adam
(lr=0.1 and more).

Measured in-process on the digits (reference: 97.8%): a softmax at the end of the
model still reaches 98.4%, no zero_grad 94.9% (a hair below the 95% for full marks),
lr=0.1 97.6% (not a bug here), lr=1.0 10%. Hence the cheap checks in
autograder/hidden/capstone.py for the first two.

Classic mistakes (`classic=True`): the few that those threads and every PyTorch course warn
about: a softmax at the end of the model, the model returned in training mode, gradients
never zeroed, and a last batch of one sample reaching BatchNorm.
A public check catches each classic mistake, so that a student whose public checks
all pass has made none of them (tests/test_classic_mistakes.py; docs/CLASSIC_MISTAKES.md
lists what the public checks catch and name).
"""
from autograder.hidden.capstone import DIVERGED, NOT_SHUFFLED, SEED_UNUSED, SHUFFLED_ONCE
from autograder.variants import Bug, Correct, Mistake, Trivial

T = "capstone"

HEAD = "        nn.Linear(width, num_classes),\n    )"
SKIP_ONE = ("            if batch.numel() < 2:                           # BatchNorm needs 2 samples\n"
            "                continue\n")
LOOP_END = ("            optimizer.zero_grad()\n"
            "            loss.backward()\n"
            "            optimizer.step()\n"
            "        if time_budget is not None and time.perf_counter() - start > time_budget:\n"
            "            break\n")

BUGS = [
    Bug("cap-time-budget-ignored", T,
        ((LOOP_END, LOOP_END.replace(
            "        if time_budget is not None and time.perf_counter() - start > time_budget:\n"
            "            break\n", "")),),
        catches=("time_budget_is_respected",),
        why="d2l-style loops train all epochs whatever the budget"),
    Bug("cap-uses-torch-optim-adam", T,
        (("    y = y.to(X.device)\n    optimizer = Adam(model.parameters(), lr=lr)\n",
          "    y = y.to(X.device)\n    optimizer = torch.optim.Adam(model.parameters(), lr=lr)\n"),),
        catches=("digits_accuracy",),
        why="PyTorch's Adam instead of the student's own (forbidden in the capstone)"),

    # --------------------------------------------------------------- rules the accuracy forgives
    Bug("cap-hard-coded-digits", T,
        (("        BatchNorm1d(in_features),\n", "        BatchNorm1d(64),                     # BUG: the digits' sizes\n"),
         ("        nn.Linear(in_features, width),\n", "        nn.Linear(64, width),\n"),
         ("        nn.Linear(width, num_classes),\n", "        nn.Linear(width, 10),\n")),
        catches=("build_model_other_sizes",),
        named="sizes hard-coded for the digits",
        why="a model written for the one data set at hand (64 pixels, 10 digits), ignoring its "
            "arguments"),
    Bug("cap-none-budget-is-zero", T,
        (("        if time_budget is not None and time.perf_counter() - start > time_budget:\n",
          "        if time.perf_counter() - start > (time_budget or 0):   # BUG: None is no budget\n"),),
        catches=("train_model_matches_reference",),
        named="time_budget=None taken as 0",
        why="`time_budget or 0` to avoid comparing with None: None then stops after one epoch"),
    Bug("cap-floor-planned-steps", T,
        (("total, k = epochs * math.ceil(n / batch_size), 0",
          "total, k = epochs * (n // batch_size), 0                # BUG: rounded down"),),
        catches=("train_model_matches_reference",),
        named="planned steps rounded down",
        why="steps per epoch written len(X) // batch_size (DataLoader's drop_last arithmetic) while "
            "the short last batch is still trained: the cosine reaches 0 before the last steps "
            "and climbs again"),
    Bug("cap-budget-checked-per-step", T,
        ((LOOP_END, "            optimizer.zero_grad()\n"
                    "            loss.backward()\n"
                    "            optimizer.step()\n"
                    "            if time_budget is not None and time.perf_counter() - start > time_budget:\n"
                    "                model.eval()                    # BUG: stops mid-epoch\n"
                    "                return model\n"),),
        catches=("train_model_budget_whole_epochs",),
        named="budget checked after every step",
        why="the clock looked at after every batch, as in step-budgeted training loops: with "
            "time_budget=0 one step is trained instead of one epoch (the digits' 60 s and the "
            "time_budget=0 check, which only asks for some training, do not notice)"),
    Bug("cap-shuffle-once", T,
        (("    for _ in range(epochs):\n"
          "        order = torch.randperm(n, generator=generator).to(X.device)\n",
          "    order = torch.randperm(n, generator=generator).to(X.device)   # BUG: once\n"
          "    for _ in range(epochs):\n"),),
        catches=("train_model_shuffles_every_epoch",),
        named="one order for every epoch",
        why="the data shuffled once before training (as a numpy permutation of the arrays often "
            "is), so every epoch sees the same batches"),
    Bug("cap-seed-ignored", T,
        (("lr=lr)\n    generator = torch.Generator().manual_seed(seed)\n",
          "lr=lr)\n    generator = torch.Generator().manual_seed(0)      # BUG: seed unused\n"),),
        catches=("train_model_shuffles_every_epoch",),
        named="seed not used",
        why="the notebook's manual_seed(0) copied into train_model: every seed gives the same order"),
    Bug("cap-device-only-move", T,
        (("    model.to(X.device, X.dtype)\n", "    model.to(X.device)                                  # BUG: not the dtype\n"),),
        catches=("train_model_float64",),
        named="model moved to the device only",
        why="model.to(device) is the usual line; float64 features then meet float32 weights"),
]

VARIANTS = [
    Correct("cap-global-rng-shuffle", T,
            (("torch.randperm(n, generator=generator)", "torch.randperm(n)"),),
            why="shuffling with the global RNG instead of the seeded generator: less "
                "reproducible, not wrong"),
    Correct("cap-other-architecture-and-settings", T,
            (("    width = 256\n"
              "    return nn.Sequential(\n"
              "        BatchNorm1d(in_features),\n"
              "        Dropout(0.2),\n"
              "        nn.Linear(in_features, width),\n"
              "        ResidualBlock(width),\n"
              "        Dropout(0.3),\n",
              "    width = 128\n"
              "    return nn.Sequential(\n"
              "        BatchNorm1d(in_features),\n"
              "        nn.Linear(in_features, width),\n"
              "        ResidualBlock(width),\n"
              "        ResidualBlock(width, hidden_features=64),\n"
              "        Dropout(0.1),\n"),
             ("epochs: int = 30,\n                batch_size: int = 64, lr: float = 1e-3",
              "epochs: int = 20,\n                batch_size: int = 32, lr: float = 2e-3")),
            why="two narrower residual blocks, less dropout, 20 epochs of batch 32 at lr 2e-3"),
]


# ----------------------------------------------------------------------------- trivial submissions
# The whole topic done trivially (audit.trivial_source): each must earn 0 points.
_IDENTITY_MODEL = ("Task 7.1", "return nn.Sequential()")
TRIVIAL = [
    Trivial("cap-trivial-raise", T, "raise", why="build_model and train_model raise ValueError"),
    Trivial("cap-trivial-none", T, "none", why="build_model and train_model return None"),
    Trivial("cap-trivial-untrained", T, "identity", (_IDENTITY_MODEL,),
            why="an empty model (the identity), returned untrained by train_model"),
    Trivial("cap-trivial-untrained-eval", T, "identity",
            (_IDENTITY_MODEL, ("Task 7.2", "return model.eval()")),
            why="train_model only switches the model to eval mode"),
    Trivial("cap-trivial-linear-untrained-eval", T, "identity",
            (("Task 7.1", "return nn.Linear(in_features, num_classes)"),
             ("Task 7.2", "model.to(X.device, X.dtype)\nreturn model.eval()")),
            why="one untrained Linear layer, in eval mode: logits of the right shape, never trained"),
]


# ----------------------------------------------------------------------------- known mistakes
# The grader tries these, in this order, when a check fails (autograder/variants.py).

# The budget looked at after each step instead of each epoch, returning at once.
BUDGET_PER_STEP = (("            optimizer.step()\n"
                     "        if time_budget is not None and time.perf_counter() - start > time_budget:\n"
                     "            break\n",
                     "            optimizer.step()\n"
                     "            if time_budget is not None and time.perf_counter() - start > time_budget:\n"
                     "                model.eval()\n"
                     "                return model\n"),)

MISTAKES = [
    Mistake("softmax at the end of the model",
            "the model ends in a softmax, so it returns probabilities; return raw logits "
            "(F.cross_entropy applies log_softmax itself, and argmax is the same on logits).",
            (("        nn.Linear(width, num_classes),\n    )",
              "        nn.Linear(width, num_classes),\n        nn.Softmax(dim=1),\n    )"),),
            checks=("model_returns_logits",),
            catches=("model_returns_logits",),
            why="Keras' Dense(10, activation='softmax') carried over: the softmax output goes into F.cross_entropy, which applies log_softmax again (forum: 'softmax before CrossEntropyLoss?'); on the digits it still reaches 98%",
            classic=True),
    Mistake("BatchNorm batch of one",
            "a last batch of one sample reached BatchNorm in training mode (ValueError); skip "
            "batches with fewer than 2 samples, or drop the last incomplete batch.",
            (("            if batch.numel() < 2:                           # BatchNorm needs 2 samples\n"
              "                continue\n", ""),),
            checks=("last_batch_of_one",),
            catches=("last_batch_of_one",),
            why="a last batch of one sample in training mode: 'Expected more than 1 value per channel when training'",
            classic=True),
    Mistake("model left in training mode",
            "train_model returned the model in training mode; call model.eval() before returning "
            "it, so BatchNorm uses its running statistics and Dropout is off.",
            (("    model.eval()\n    return model\n", "    return model\n"),),
            checks=("returns_eval_mode",),
            catches=("returns_eval_mode", "digits_accuracy"),
            why="model.eval() forgotten: predictions use batch statistics and dropout",
            classic=True),
    Mistake("gradients not zeroed",
            "the gradients were never zeroed, so every backward() added to the sum of all earlier "
            "ones; call optimizer.zero_grad() before each loss.backward().",
            (("            optimizer.zero_grad()\n", ""),),
            checks=("gradients_do_not_accumulate",),
            catches=("gradients_do_not_accumulate",),
            why="the classic missing optimizer.zero_grad(): gradients add up across batches (94.9% on the digits: accuracy alone barely notices)",
            classic=True),
    Mistake("learning rate far too high", DIVERGED,      # named by digits_accuracy's judge
            (("lr: float = 1e-3, seed", "lr: float = 1.0, seed"),),
            checks=("digits_accuracy",),
            catches=("digits_accuracy",),
            why="an SGD-sized learning rate (and then some) given to Adam: training diverges to ~10% accuracy"),
    Mistake("sizes hard-coded for the digits",
            "build_model uses the digits' sizes (64 features, 10 classes) instead of its arguments; "
            "build every layer from in_features and num_classes.",
            (("        BatchNorm1d(in_features),\n", "        BatchNorm1d(64),\n"),
             ("        nn.Linear(in_features, width),\n", "        nn.Linear(64, width),\n"),
             ("        nn.Linear(width, num_classes),\n", "        nn.Linear(width, 10),\n")),
            checks=("build_model_other_sizes",)),
    Mistake("no model.train()",
            "train_model never called model.train(), so a model that arrived in eval mode was "
            "trained in eval mode (BatchNorm on its running statistics, Dropout off); call "
            "model.train() before the first step.",
            (("    model.train()\n", ""),),
            checks=("train_model_sets_train_mode",),
            catches=("train_model_sets_train_mode",),
            why="a fresh model is in training mode already, so model.train() looks redundant; a model evaluated before training (or trained twice) is then trained in eval mode"),
    Mistake("time_budget=None taken as 0",
            "time_budget=None was treated as a budget of 0 seconds, so training stopped after the "
            "first epoch; None means no budget: train all the epochs.",
            (("        if time_budget is not None and time.perf_counter() - start > time_budget:\n",
              "        if time.perf_counter() - start > (time_budget or 0):\n"),),
            checks=("train_model_matches_reference",)),
    Mistake("constant learning rate",
            "the learning rate stayed at lr for every step; set group[\"lr\"] = lr * (1 + cos(pi * k "
            "/ total)) / 2 in every param group before step k (k counts the steps, total = epochs * "
            "ceil(N / batch_size)).",
            (("            for group in optimizer.param_groups:            # cosine decay lr -> 0\n"
              "                group[\"lr\"] = lr * (1 + math.cos(math.pi * k / total)) / 2\n", ""),),
            checks=("train_model_matches_reference",),
            catches=("train_model_matches_reference",),
            why="the schedule left out (d2l-style loops train at a constant lr): the digits' accuracy barely notices"),
    Mistake("no label smoothing",
            "the loss is F.cross_entropy without label_smoothing=0.1; the brief trains towards 0.9 "
            "on the true class: F.cross_entropy(logits, y, label_smoothing=0.1).",
            ((", label_smoothing=0.1)", ")"),),
            checks=("train_model_matches_reference",),
            catches=("train_model_matches_reference",),
            why="the usual F.cross_entropy(logits, y), the brief's label_smoothing=0.1 overlooked"),
    Mistake("model moved to the device only",
            "the model was moved to X's device but not to its dtype (model.to(X.device)), so float64 "
            "features met float32 weights; move both: model.to(X.device, X.dtype).",
            (("    model.to(X.device, X.dtype)\n", "    model.to(X.device)\n"),),
            checks=("train_model_float64",)),
    Mistake("planned steps rounded down",
            "the planned number of steps was epochs * (N // batch_size), rounded down, so with a "
            "short last batch the cosine reached 0 too early and rose again; a short last batch is "
            "a step too: total = epochs * math.ceil(N / batch_size).",
            (("total, k = epochs * math.ceil(n / batch_size), 0", "total, k = epochs * (n // batch_size), 0"),),
            checks=("train_model_matches_reference",)),
    Mistake("budget checked after every step",
            "the time budget was checked after every optimizer step, so training stopped in the "
            "middle of an epoch; it is checked after each epoch, and the epoch in which it runs "
            "out is finished (time_budget=0 trains exactly one epoch).",
            BUDGET_PER_STEP,
            checks=("train_model_budget_whole_epochs",)),
    Mistake("labels not moved to X's device",
            "y was not moved to X's device, so indexing it with a batch of indices on X's device "
            "failed; move it first: y = y.to(X.device).",
            (("    y = y.to(X.device)\n", ""),),
            checks=("train_model_labels_moved",),
            catches=("train_model_labels_moved",),
            why="X moved to the GPU, y left on the CPU where the data loader put it: indexing y "
                "with indices on the GPU raises (graded on GPU machines only)",
            devices=("cuda",)),
    # named by train_model_shuffles_every_epoch's judge (judges have no reference run to
    # patch): the messages are the judge's "Likely cause"s, the patches what they describe
    Mistake("no shuffle", NOT_SHUFFLED,
            (("torch.randperm(n, generator=generator)", "torch.arange(n)"),),
            checks=("train_model_shuffles_every_epoch",),
            catches=("train_model_shuffles_every_epoch",),
            why="batches taken in the stored order (DataLoader's shuffle=False default): the digits are stored shuffled already, so the accuracy does not notice"),
    Mistake("one order for every epoch", SHUFFLED_ONCE,
            (("    for _ in range(epochs):\n"
              "        order = torch.randperm(n, generator=generator).to(X.device)\n",
              "    order = torch.randperm(n, generator=generator).to(X.device)\n"
              "    for _ in range(epochs):\n"),),
            checks=("train_model_shuffles_every_epoch",)),
    Mistake("seed not used", SEED_UNUSED,
            (("lr=lr)\n    generator = torch.Generator().manual_seed(seed)\n",
              "lr=lr)\n    generator = torch.Generator().manual_seed(0)\n"),),
            checks=("train_model_shuffles_every_epoch",)),
]
