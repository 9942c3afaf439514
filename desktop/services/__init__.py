"""The application's shared services (job queue, engine, player, library, preferences, messages) and the one shape
a take feature has (`TakeFeature`): what every feature of the window is handed and how it attaches."""
