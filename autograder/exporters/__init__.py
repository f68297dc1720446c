"""Output formats: Gradescope's results.json and the course gradebook (and the
otter-grader / nbgrader exports). Only this package knows file formats."""
