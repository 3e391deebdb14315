"""Reading, checking and tokenizing training data."""
