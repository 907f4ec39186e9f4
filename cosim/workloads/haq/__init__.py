"""The NF paper's MVM test of HAQ against PTQ, its error budget and its sweep."""
