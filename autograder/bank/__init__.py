"""The variants of each topic's reference: known mistakes, bank bugs, correct variants and
trivial submissions (autograder/variants.py). Maintainers only: never shipped to students."""
