"""The modal dialogs: export and preferences."""
