"""CLAP (contrastive language-audio) scoring: text match of a take, ranking, search by sound and evaluation."""
