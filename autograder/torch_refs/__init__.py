"""The student API written with PyTorch's built-ins: expected values for public checks."""
