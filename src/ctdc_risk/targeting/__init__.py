"""Prevention targeting: which case profiles concentrate the outcome, and how much they cover."""
