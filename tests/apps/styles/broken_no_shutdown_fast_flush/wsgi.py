from todoapp import create_app

app = create_app()
