"""The GUI or headless side: app process, store, exporters, command line."""
