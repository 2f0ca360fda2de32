# gunicorn before 22 imports pkg_resources, which setuptools 81+ no longer ships.
raise ModuleNotFoundError("No module named 'pkg_resources'", name="pkg_resources")
