"""Work off the GUI thread: the job queue, the thin QThread worker and the tasks jobs run."""
