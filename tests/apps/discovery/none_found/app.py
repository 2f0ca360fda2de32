def helper():
    return 1


ROUTES = ["/"]
