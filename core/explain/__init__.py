"""AudioGenX explanations: which words of a prompt drove a take, and regenerating a take with a word mask."""
