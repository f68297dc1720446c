"""Auto-grading for the 'Modern deep learning' homework: grading engine and checks.

`python -m autograder grade SUBMISSION... --out DIR` grades submissions;
`python -m autograder check TOPIC` runs a topic's public checks on a student's
own `assignments/` copy; `python -m autograder stubs` regenerates the stubs.
"""
__version__ = "0.1.0"
