"""The benchmark (``python bench/run.py``); a package so pytest can load its RSS probe."""
