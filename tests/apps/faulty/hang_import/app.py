"""Never finishes importing: the boot deadline must kill it."""

import threading

threading.Event().wait()
