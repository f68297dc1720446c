"""Hidden checks, one module a topic. Instructors only: never shipped to students."""
