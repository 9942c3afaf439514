"""The generate side of the window: prompt, model picker, parameters, audio slots, and the controller."""
