"""The policy assistant: cited answers from Danish and Swedish policy documents."""

__version__ = "0.1.0"
