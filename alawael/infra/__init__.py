"""Infrastructure below the core and the doors: MongoDB (external or embedded), cache, event
hub and fan-out, metrics, logs, HTTP clients, backups, the clock. Imports neither."""
